import { randomUUID } from 'node:crypto';
import type { Database } from '@byokit/storage-postgres';
import { hashPassword, verifyPassword } from './passwords.js';

/** A user of the example server, as its own routes show one (never the password hash). */
export interface User {
  id: string;
  email: string;
  full_name: string | null;
  is_superuser: boolean;
}

/**
 * The example's user accounts, in a table of the host's own beside byokit's (same database, its own
 * name). byokit itself never sees passwords.
 */
export class UserDirectory {
  // Verifying against a real hash when the email is unknown keeps "no such user" as slow as "wrong password".
  readonly #decoy = hashPassword(randomUUID());
  readonly #table: string;

  constructor(
    private readonly database: Database,
    schema: string,
  ) {
    this.#table = `"${schema}"."example_users"`;
  }

  /**
   * Creates the table if it is missing, one server at a time: PostgreSQL's IF NOT EXISTS does not see a table another
   * session is creating, so servers starting together on a new database (a deployment's replicas) failed to start,
   * all but one, on `duplicate key value violates unique constraint "pg_type_typname_nsp_index"`.
   */
  async migrate(): Promise<void> {
    await this.database.transaction(async (transaction) => {
      await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`byokit-example:users:${this.#table}`]);
      await transaction.exec(`CREATE TABLE IF NOT EXISTS ${this.#table} (
        id            uuid        PRIMARY KEY,
        email         text        NOT NULL UNIQUE,
        full_name     text,
        is_superuser  boolean     NOT NULL DEFAULT false,
        password_hash text        NOT NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    });
  }

  /** Creates a user; null when the email is taken (the unique constraint decides, so racing signups are safe). */
  async create(input: { email: string; password: string; fullName?: string | null; isSuperuser?: boolean }): Promise<User | null> {
    const rows = await this.database.query<User>(
      `INSERT INTO ${this.#table} (id, email, full_name, is_superuser, password_hash) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (email) DO NOTHING RETURNING id, email, full_name, is_superuser`,
      [
        randomUUID(),
        input.email.trim().toLowerCase(),
        input.fullName ?? null,
        input.isSuperuser ?? false,
        await hashPassword(input.password),
      ],
    );
    return rows[0] ?? null;
  }

  /** The user whose email and password match, or null. */
  async authenticate(email: string, password: string): Promise<User | null> {
    const rows = await this.database.query<User & { password_hash: string }>(
      `SELECT id, email, full_name, is_superuser, password_hash FROM ${this.#table} WHERE email = $1`,
      [email.trim().toLowerCase()],
    );
    const row = rows[0];
    const matches = await verifyPassword(password, row?.password_hash ?? (await this.#decoy));
    return row && matches ? { id: row.id, email: row.email, full_name: row.full_name, is_superuser: row.is_superuser } : null;
  }

  async find(id: string): Promise<User | null> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return null;
    const rows = await this.database.query<User>(`SELECT id, email, full_name, is_superuser FROM ${this.#table} WHERE id = $1`, [id]);
    return rows[0] ?? null;
  }

  /**
   * Deletes a user: only the first admin of a start that could not listen, who never made a request, so byokit holds
   * nothing of theirs, and whose id (a random UUID, as every user's here) is never given again. A host deleting an
   * account that was used calls `byokit.forgetUser(id, { usage })` too, or the user's keys and budget stay.
   */
  async remove(id: string): Promise<void> {
    await this.database.query(`DELETE FROM ${this.#table} WHERE id = $1`, [id]);
  }

  async findByEmail(email: string): Promise<User | null> {
    const rows = await this.database.query<User>(`SELECT id, email, full_name, is_superuser FROM ${this.#table} WHERE email = $1`, [
      email.trim().toLowerCase(),
    ]);
    return rows[0] ?? null;
  }
}

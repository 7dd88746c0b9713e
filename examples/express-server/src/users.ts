import { randomUUID } from 'node:crypto';
import { hashPassword, verifyPassword } from './passwords.js';

/** A user of the example server, as its own routes show one (never the password hash). */
export interface User {
  id: string;
  email: string;
  full_name: string | null;
  is_superuser: boolean;
}

interface UserRow extends User {
  passwordHash: string;
}

/**
 * The example's user accounts, in memory for now: they are gone on restart (storage-postgres replaces
 * this; see the README). byokit itself never sees passwords.
 */
export class UserDirectory {
  readonly #byId = new Map<string, UserRow>();
  readonly #byEmail = new Map<string, UserRow>();
  // Verifying against a real hash when the email is unknown keeps "no such user" as slow as "wrong password".
  readonly #decoy = hashPassword(randomUUID());

  /** Creates a user; null when the email is taken. */
  async create(input: { email: string; password: string; fullName?: string | null; isSuperuser?: boolean }): Promise<User | null> {
    const email = input.email.trim().toLowerCase();
    if (this.#byEmail.has(email)) return null;
    const row: UserRow = {
      id: randomUUID(),
      email,
      full_name: input.fullName ?? null,
      is_superuser: input.isSuperuser ?? false,
      passwordHash: await hashPassword(input.password),
    };
    if (this.#byEmail.has(email)) return null; // another signup won the race while we hashed
    this.#byId.set(row.id, row);
    this.#byEmail.set(email, row);
    return publicUser(row);
  }

  /** The user whose email and password match, or null. */
  async authenticate(email: string, password: string): Promise<User | null> {
    const row = this.#byEmail.get(email.trim().toLowerCase());
    const matches = await verifyPassword(password, row?.passwordHash ?? (await this.#decoy));
    return row && matches ? publicUser(row) : null;
  }

  find(id: string): User | null {
    const row = this.#byId.get(id);
    return row ? publicUser(row) : null;
  }
}

const publicUser = ({ id, email, full_name, is_superuser }: UserRow): User => ({ id, email, full_name, is_superuser });

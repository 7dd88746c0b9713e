/**
 * @byokit/storage-postgres: byokit's storage on PostgreSQL (node-postgres) or on an embedded PGlite,
 * with versioned migrations shipped as SQL files in the package.
 */
export { embeddedPostgresStorage, postgresStorage } from './postgres-storage-factory.js';
export type { EmbeddedStorageOptions, PostgresStorageOptions, StatementOptions, TableOptions } from './postgres-storage-factory.js';
export type { PostgresStorage } from './postgres-storage.js';
export type { KeyAuditPage, KeyOwnerQueries, KeyOwnersPage, StoredKeyOwner } from './key-queries.js';
export type { MigrateReporting, MigrationLockWait, MigrationResult } from './migrate.js';
export type { Database, PgPool, PgPoolClient, PgQuery, PGliteExecutor, PGliteInstance, QueryOptions, SqlExecutor } from './database.js';

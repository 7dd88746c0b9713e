import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, {
  '@byokit/storage-postgres': [
    'embeddedPostgresStorage',
    'postgresStorage',
    'type Database',
    'type EmbeddedStorageOptions',
    'type KeyAuditPage',
    'type KeyOwnerQueries',
    'type KeyOwnersPage',
    'type MigrateReporting',
    'type MigrationLockWait',
    'type MigrationResult',
    'type PGliteExecutor',
    'type PGliteInstance',
    'type PgPool',
    'type PgPoolClient',
    'type PgQuery',
    'type PostgresStorage',
    'type PostgresStorageOptions',
    'type QueryOptions',
    'type SqlExecutor',
    'type StatementOptions',
    'type StoredKeyOwner',
    'type TableOptions',
  ],
});

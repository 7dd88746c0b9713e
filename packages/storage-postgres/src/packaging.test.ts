import { expect, it } from 'vitest';
import { publicNames, readPackageJson } from '../../../scripts/package-contents.js';
import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, (packageDir) => {
  it('exports exactly these names, from each entry point: a name added or dropped by accident is a diff here', () => {
    expect(publicNames(packageDir, readPackageJson(packageDir))).toEqual({
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
        'type StoredKeyOwner',
        'type TableOptions',
      ],
    });
  }, 30_000);
});

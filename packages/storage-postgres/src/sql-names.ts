/** Where byokit's tables live: a schema, and a prefix for every table and index name. */
export interface SqlNames {
  /** `"schema"."prefixname"`, ready to put in SQL. */
  table(name: string): string;
  /** `"prefixname"`, for indexes (named per schema). */
  name(name: string): string;
  /** `"schema"`. */
  schema: string;
  /** The unquoted schema, for catalog queries. */
  schemaName: string;
  /** Identifies this schema + prefix pair, e.g. for the migration lock. */
  key: string;
}

// Plain lower-case identifiers only: they go into SQL text, so nothing that would need escaping is accepted.
const SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
const PREFIX = /^[a-z_][a-z0-9_]{0,30}$|^$/;

/** Validates the schema and prefix and returns the quoted names built from them. */
export function sqlNames(schema = 'public', prefix = 'byokit_'): SqlNames {
  if (!SCHEMA.test(schema)) throw new TypeError(`schema must match ${SCHEMA} (got ${JSON.stringify(schema)})`);
  if (!PREFIX.test(prefix)) throw new TypeError(`tablePrefix must match ${PREFIX} (got ${JSON.stringify(prefix)})`);
  return {
    table: (name) => `"${schema}"."${prefix}${name}"`,
    name: (name) => `"${prefix}${name}"`,
    schema: `"${schema}"`,
    schemaName: schema,
    key: `${schema}.${prefix}`,
  };
}

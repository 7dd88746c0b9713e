/** The storage's admin models: listed in a fixed order, saved by id, and changed one at a time from any node. */
import type { CatalogModel, Provider, SamplingParameter, Storage } from '@byokit/core';
import { ByokitError } from '@byokit/core';
import type { Database, SqlExecutor } from './database.js';
import { guarded, isUniqueViolation } from './database-errors.js';
import { prepared, UUID } from './shared-sql.js';
import type { SqlNames } from './sql-names.js';

interface ModelRow {
  id: string;
  provider: Provider;
  model: string;
  display_name: string;
  is_active: boolean;
  context_window: number;
  max_output_tokens: number;
  input_per_mtok_usd: string | null;
  output_per_mtok_usd: string | null;
  cached_input_per_mtok_usd: string | null;
  cache_write_per_mtok_usd: string | null;
  ignored_parameters: SamplingParameter[];
}

const MODEL_COLUMNS =
  'id, provider, model, display_name, is_active, context_window, max_output_tokens, input_per_mtok_usd, output_per_mtok_usd, cached_input_per_mtok_usd, cache_write_per_mtok_usd, ignored_parameters';
// Prices as ::text whatever type parser the host set for numeric (some parse it to a float), as usage is read.
const MODEL_SELECT_COLUMNS = `id, provider, model, display_name, is_active, context_window, max_output_tokens,
  input_per_mtok_usd::text AS input_per_mtok_usd, output_per_mtok_usd::text AS output_per_mtok_usd,
  cached_input_per_mtok_usd::text AS cached_input_per_mtok_usd, cache_write_per_mtok_usd::text AS cache_write_per_mtok_usd, ignored_parameters`;

/** numeric is read as text (MODEL_SELECT_COLUMNS): exact, as money must be. */
function modelFromRow(row: ModelRow): CatalogModel {
  const pricing =
    row.input_per_mtok_usd === null || row.output_per_mtok_usd === null
      ? null
      : {
          inputPerMTokUsd: row.input_per_mtok_usd,
          outputPerMTokUsd: row.output_per_mtok_usd,
          ...(row.cached_input_per_mtok_usd !== null && { cachedInputPerMTokUsd: row.cached_input_per_mtok_usd }),
          ...(row.cache_write_per_mtok_usd !== null && { cacheWritePerMTokUsd: row.cache_write_per_mtok_usd }),
        };
  return {
    id: row.id,
    provider: row.provider,
    model: row.model,
    displayName: row.display_name,
    isActive: row.is_active,
    contextWindow: Number(row.context_window),
    maxOutputTokens: Number(row.max_output_tokens),
    pricing,
    ...(row.ignored_parameters.length > 0 && { ignoredParameters: row.ignored_parameters }),
  };
}

/** The model methods of the Storage over a database whose schema `names` points at. */
export function modelQueries(database: Database, names: SqlNames): Pick<Storage, 'listModels' | 'saveModel' | 'updateModel'> {
  const statements = prepared(database);
  const models = names.table('models');
  /** The advisory locks of this schema's model changes, one per model id. */
  const modelWriteLock = `byokit:models:${names.key}`;

  /** Adds or replaces an admin's model by id; `conflict` for a provider and name another model has. */
  const upsertModel = async (executor: SqlExecutor, model: CatalogModel, at: Date) => {
    const pricing = model.pricing;
    await executor
      .query(
        `INSERT INTO ${models} (${MODEL_COLUMNS}, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $13, $12, $12)
       ON CONFLICT (id) DO UPDATE SET provider = EXCLUDED.provider, model = EXCLUDED.model, display_name = EXCLUDED.display_name,
         is_active = EXCLUDED.is_active, context_window = EXCLUDED.context_window, max_output_tokens = EXCLUDED.max_output_tokens,
         input_per_mtok_usd = EXCLUDED.input_per_mtok_usd, output_per_mtok_usd = EXCLUDED.output_per_mtok_usd,
         cached_input_per_mtok_usd = EXCLUDED.cached_input_per_mtok_usd, cache_write_per_mtok_usd = EXCLUDED.cache_write_per_mtok_usd,
         ignored_parameters = EXCLUDED.ignored_parameters, updated_at = EXCLUDED.updated_at`,
        [
          model.id,
          model.provider,
          model.model,
          model.displayName,
          model.isActive,
          model.contextWindow,
          model.maxOutputTokens,
          pricing?.inputPerMTokUsd ?? null,
          pricing?.outputPerMTokUsd ?? null,
          pricing?.cachedInputPerMTokUsd ?? null,
          pricing?.cacheWritePerMTokUsd ?? null,
          at,
          [...(model.ignoredParameters ?? [])],
        ],
      )
      .catch((error: unknown) => {
        // The id is handled above; what is left unique is (provider, model): another admin's add of it won the race.
        if (isUniqueViolation(error)) throw new ByokitError('conflict', `A model ${model.provider}/${model.model} exists already.`);
        throw error;
      });
  };

  return {
    listModels: () =>
      guarded(async () =>
        (
          await statements.query<ModelRow>(`SELECT ${MODEL_SELECT_COLUMNS} FROM ${models} ORDER BY provider COLLATE "C", model COLLATE "C"`)
        ).map(modelFromRow),
      ),

    saveModel: (model, at) => guarded(() => upsertModel(statements, model, at)),

    updateModel: (id, change, at) =>
      guarded(() =>
        database.transaction(async (unprepared) => {
          const transaction = prepared(unprepared);
          // One change of a model at a time, from any node: a row lock would not do, as a built-in model not changed yet
          // has no row. Without it, two nodes both read the model, and the later save undid the earlier's change.
          await transaction.query(`SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, [modelWriteLock, id]);
          // An id that is no uuid was never stored (the column is uuid: compared, it would fail the statement).
          const rows = UUID.test(id)
            ? await transaction.query<ModelRow>(`SELECT ${MODEL_SELECT_COLUMNS} FROM ${models} WHERE id = $1`, [id])
            : [];
          const next = change(rows[0] ? modelFromRow(rows[0]) : null);
          if (next === undefined) return undefined;
          await upsertModel(transaction, next, at);
          return next;
        }),
      ),
  };
}

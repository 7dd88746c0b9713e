// Built-in models their provider has retired: calls to them fail at the provider. The catalog keeps them (their
// ids are in usage records, and the user guide's own example id is one of them), and says so to the operator.
import { loggableText, type Logger } from '../logging/logger.js';
import { USER_GUIDE_SONNET_4_5_ID } from './built-in-models.js';
import type { ModelCatalog } from './catalog.js';
import type { CatalogModel } from './model.js';

/** A built-in model's retirement: the provider's date (ISO 8601, UTC), and its name for the model it recommends instead. */
export interface Retirement {
  on: string;
  replacement: string;
}

/** By built-in model id. Sources are in each model's comment in built-in-models.ts. */
export const RETIREMENTS: ReadonlyMap<string, Retirement> = new Map([
  // Claude Sonnet 4.5 → Claude Sonnet 5.5 (https://platform.claude.com/docs/en/models/sonnet-4-5/overview).
  [USER_GUIDE_SONNET_4_5_ID, { on: '2026-11-30', replacement: 'claude-sonnet-5-5' }],
]);

/**
 * Warns the operator, once per model in this byokit (to its logger), at the first call to a model still active whose provider
 * has retired it by then: the call fails at the provider (`provider_error`), and so will every other. The model
 * stays active until an admin deactivates it, as byokit never changes an admin's catalog by itself; the warning
 * says how, and what replaces it. At the first call rather than at start: a process that serves no chat (the
 * CLI re-encrypting keys) has nothing to be warned of.
 */
export class RetiredModelWarnings {
  readonly #warned = new Set<string>();

  constructor(
    private readonly logger: Logger,
    private readonly now: () => Date,
  ) {}

  /** Called with each chat call's model, and the catalog it came from (to name the replacement). */
  check(model: CatalogModel, catalog: ModelCatalog): void {
    const retirement = RETIREMENTS.get(model.id);
    if (retirement === undefined || this.#warned.has(model.id)) return;
    const { on } = retirement;
    if (this.now().getTime() < Date.parse(`${on}T00:00:00Z`)) return;
    this.#warned.add(model.id);
    const replacement = catalog.byProviderModel(model.provider, retirement.replacement);
    this.logger.warn(
      {
        modelId: model.id,
        model: model.model,
        provider: model.provider,
        retiredOn: on,
        ...(replacement && { replacementId: replacement.id }),
      },
      // The display name is an admin's text: escaped, as it goes into the message itself.
      `${loggableText(model.displayName)} was retired by its provider on ${on}, and calls to it now fail there. Deactivate it ` +
        `(PATCH /llm-models/${model.id} with {"is_active": false})` +
        (replacement ? `; its replacement is ${loggableText(replacement.displayName)} (${replacement.id}).` : '.'),
    );
  }
}

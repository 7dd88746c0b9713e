import type { CatalogModel } from '../catalog/model.js';
import { pricesFor } from '../catalog/long-prompt-prices.js';
import { ByokitError, isByokitError } from '../errors.js';
import { PROVIDER_LABELS } from '../keys/providers.js';
import { loggableError, type Logger } from '../logging/logger.js';
import type { ProviderChatRequest, TokenUsage } from '../providers/provider-types.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { Storage } from '../storage/storage.js';
import { budgetCovers, type BudgetHold } from './budget.js';
import { utf8Length } from '../bytes.js';
import { kindOfOption } from '../host-option-checks.js';
import { costOf, dearestPromptClass } from './cost.js';
import { monthOf } from './usage-service.js';

/** A hold lasts this long unless renewed: after this, the hold of a node that died before ending it stops counting. */
const HOLD_TTL_MS = 15 * 60_000;
/**
 * While its call runs, a hold is renewed this often: a call may outlast the TTL (a stream of a long answer has no
 * end but the provider's), and its hold must count until its record takes its place. A third of the TTL, so that
 * a renewal lost to a passing storage fault leaves the hold still counting.
 */
const HOLD_RENEW_MS = HOLD_TTL_MS / 3;
/**
 * Renewals stop after 3 hours of a call: longer than any answer takes (128,000 tokens at 20 a second is under 2
 * hours), and a bound on the hold of a call that never ends (a stream a host's code neither reads nor cancels),
 * which would otherwise count for as long as the process runs.
 */
const HOLD_MAX_RENEWALS = (3 * 60 * 60_000) / HOLD_RENEW_MS;
/** Per message, on top of its characters: the role and the provider's framing tokens. */
const TOKENS_PER_MESSAGE = 8;

/**
 * Keeps calls within users' monthly budgets under concurrency (spec/http-api.md, budgets): before the provider
 * is called, the call's worst-case cost is held against the budget in storage, atomically across nodes; a
 * call that could pass the limit is refused with `402 budget_exceeded`. The hold ends with the call's usage
 * record (UsageMeter), which puts the real cost in its place.
 */
export class BudgetGuard {
  /**
   * @param endLostHold - Ends, later, a hold that storage failed to answer for (UsageMeter.endHold): it may have saved it.
   */
  constructor(
    private readonly storage: Storage,
    private readonly now: () => Date,
    private readonly logger: Logger,
    private readonly endLostHold: (holdId: string) => void = () => {},
  ) {}

  /**
   * Renews the hold every {@link HOLD_RENEW_MS} while its call runs (for 3 hours at most), to {@link HOLD_TTL_MS}
   * from then; returns what stops it, called when the call ends (UsageMeter.record). A renewal that fails is logged,
   * and the next one tried.
   */
  renewWhileRunning(holdId: string, requestId: string): () => void {
    const storage = this.storage;
    if (typeof storage.renewHold !== 'function') return () => {};
    let renewalsLeft = HOLD_MAX_RENEWALS;
    const timer = setInterval(() => {
      if (renewalsLeft-- <= 0) return clearInterval(timer);
      // Through a promise: a host's renewHold (or clock) that throws at once, or a renewHold that returns no promise,
      // would otherwise throw from this timer, where nothing catches it, and end the process (Node's default).
      Promise.resolve()
        .then(() => {
          const expiresAt = new Date(this.now().getTime() + HOLD_TTL_MS);
          if (!Number.isNaN(expiresAt.getTime())) return storage.renewHold!(holdId, expiresAt);
        })
        .catch((error: unknown) => {
          this.logger.error(
            { requestId, ...(isByokitError(error) && { code: error.code }), err: loggableError(error) },
            'budget hold not renewed',
          );
        });
    }, HOLD_RENEW_MS);
    // A call still running does not keep the process alive for its hold.
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Holds the call's worst case; resolves the hold's id, or undefined when no budget limits this call. */
  async hold(userId: string, model: CatalogModel, request: ProviderChatRequest, keySource: KeySource): Promise<string | undefined> {
    if (model.pricing === null) return this.unpricedCall(userId, model, keySource);
    const at = this.now();
    const period = monthOf(at);
    const hold: BudgetHold = {
      id: crypto.randomUUID(),
      userId,
      amountUsd: worstCaseCostUsd(model, request),
      periodStart: period.start,
      periodEnd: period.end,
      createdAt: at,
      expiresAt: new Date(at.getTime() + HOLD_TTL_MS),
    };
    let outcome: Awaited<ReturnType<Storage['holdBudget']>>;
    try {
      outcome = await this.storage.holdBudget(hold, keySource);
      // A host's storage may answer anything (a function that forgot to return, a status in its own words): taken as
      // no budget, every call went through unlimited. Budgets fail closed; the answer is a 500, logged.
      if (outcome !== 'held' && outcome !== 'exceeded' && outcome !== 'unlimited') {
        throw new TypeError(
          `the storage's holdBudget answered none of 'held', 'exceeded' or 'unlimited' (got ${kindOfOption(outcome)}): the call is refused`,
        );
      }
    } catch (error) {
      // The hold may be saved though its answer was lost (the connection cut at the commit, a partition): its call is
      // refused and never made, yet its worst case counted against the budget for the hold's 15 minutes. Ended with
      // the next usage write, which is tried again through an outage; ending a hold that was never saved is no error.
      this.endLostHold(hold.id);
      throw error;
    }
    if (outcome === 'exceeded') throw await this.exceeded(userId, model, keySource);
    return outcome === 'held' ? hold.id : undefined;
  }

  /**
   * A call to a model without prices holds nothing, and is refused when a budget limits it (spec/security.md, "Hostile
   * inputs": an unpriced model is refused before any call when budgets are on). Its cost is recorded as 0, so its worst
   * case held as 0 let a user with a budget call it without end, on the system key too. Only read: nothing is held.
   */
  private async unpricedCall(userId: string, model: CatalogModel, keySource: KeySource): Promise<undefined> {
    const budget = await this.storage.getBudget(userId);
    if (budget === null || !budgetCovers(budget.appliesTo, keySource)) return undefined;
    const waysOn =
      budget.appliesTo === 'system'
        ? `ask an admin to price it, use a priced model, or add your own ${PROVIDER_LABELS[model.provider]} key in your profile, which this budget does not limit`
        : 'ask an admin to price it, or use a priced model';
    throw new ByokitError(
      'budget_exceeded',
      `${model.displayName} has no prices in the catalog, so what a call to it costs cannot be counted against your monthly ` +
        `budget: ${waysOn}.`,
      { provider: model.provider, keySource },
    );
  }

  /**
   * The refusal, saying whose key the call would have used. A budget of the system key's calls alone does not limit
   * the user's own key, the one way on that needs no admin: it says so (read only on this path, the budget's scope
   * is not known to the hold).
   */
  private async exceeded(userId: string, model: CatalogModel, keySource: KeySource): Promise<ByokitError> {
    const details = { provider: model.provider, keySource };
    const scope =
      keySource === 'system'
        ? await this.storage.getBudget(userId).then(
            (budget) => budget?.appliesTo,
            () => undefined,
          )
        : undefined;
    if (scope === 'system') {
      const label = PROVIDER_LABELS[model.provider];
      return new ByokitError(
        'budget_exceeded',
        'This request could cost more than what is left of your monthly budget for calls on the system key: ask for fewer ' +
          `max_tokens, ask an admin to raise it, or add your own ${label} key in your profile, which this budget does not limit.`,
        details,
      );
    }
    return new ByokitError(
      'budget_exceeded',
      'This request could cost more than what is left of your monthly budget: ask for fewer max_tokens, or ask an admin to raise it.',
      details,
    );
  }
}

/**
 * The most a call can cost: every output token it may generate (`max_tokens`) at the output price, and its
 * prompt counted as one token per UTF-8 byte at the highest price a prompt token can have. Every provider's
 * tokenizer is byte-level (or falls back to bytes), so no token is shorter than a byte: an emoji may be several
 * tokens, never more than its 4 bytes. The highest prompt price is the cache-write price where that is above
 * the input price: OpenAI caches long prompts without being asked and bills the writes at 1.25× the input
 * price (GPT-5.6 on), as Anthropic does its cache writes. A prompt that may be longer than the provider's
 * long-prompt threshold is held at the long-prompt prices (catalog/long-prompt-prices.ts). An unpriced model costs
 * nothing byokit can bill: "0".
 */
export function worstCaseCostUsd(model: CatalogModel, request: ProviderChatRequest): string {
  const promptTokens = request.messages.reduce((total, message) => total + utf8Length(message.content) + TOKENS_PER_MESSAGE, 0);
  const usage: TokenUsage = { inputTokens: promptTokens, outputTokens: request.maxTokens };
  // A prompt that may be past the provider's long-prompt threshold is held at the long-prompt prices.
  const pricing = pricesFor(model, usage);
  if (pricing === null) return '0';
  // Every prompt token billed in the class of the highest price (cost.ts splits `inputTokens` by class).
  const dearest = dearestPromptClass(pricing);
  if (dearest !== 'inputTokens') usage[dearest] = promptTokens;
  return costOf(usage, pricing)!.costUsd;
}

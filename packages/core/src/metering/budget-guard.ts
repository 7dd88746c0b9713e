import type { CatalogModel } from '../catalog/model.js';
import { ByokitError } from '../errors.js';
import type { ProviderChatRequest } from '../providers/provider-types.js';
import type { KeySource } from '../resolve/key-resolver.js';
import type { Storage } from '../storage/storage.js';
import type { BudgetHold } from './budget.js';
import { costOf } from './cost.js';
import { monthOf } from './usage-service.js';

/** A hold outlives any call (the provider timeout is 10 minutes by default); after this, a crashed node's hold stops counting. */
const HOLD_TTL_MS = 15 * 60_000;
/** Per message, on top of its characters: the role and the provider's framing tokens. */
const TOKENS_PER_MESSAGE = 8;

/**
 * Keeps calls within users' monthly budgets under concurrency (spec/http-api.md, budgets): before the provider
 * is called, the call's worst-case cost is held against the budget in storage, atomically across nodes; a
 * call that could pass the limit is refused with `402 budget_exceeded`. The hold ends with the call's usage
 * record (UsageMeter), which puts the real cost in its place.
 */
export class BudgetGuard {
  constructor(
    private readonly storage: Storage,
    private readonly now: () => Date,
  ) {}

  /** Holds the call's worst case; resolves the hold's id, or undefined when no budget limits this call. */
  async hold(userId: string, model: CatalogModel, request: ProviderChatRequest, keySource: KeySource): Promise<string | undefined> {
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
    const outcome = await this.storage.holdBudget(hold, keySource);
    if (outcome === 'exceeded') {
      throw new ByokitError(
        'budget_exceeded',
        'This request could cost more than what is left of your monthly budget: ask for fewer max_tokens, or ask an admin to raise it.',
      );
    }
    return outcome === 'held' ? hold.id : undefined;
  }
}

/**
 * The most a call can cost: every output token it may generate (`max_tokens`) at the output price, and its
 * prompt counted as one token per UTF-8 byte at the input price. Every provider's tokenizer is byte-level (or
 * falls back to bytes), so no token is shorter than a byte: an emoji may be several tokens, never more than
 * its 4 bytes. An unpriced model costs nothing byokit can bill: "0".
 */
export function worstCaseCostUsd(model: CatalogModel, request: ProviderChatRequest): string {
  const promptTokens = request.messages.reduce((total, message) => total + utf8Length(message.content) + TOKENS_PER_MESSAGE, 0);
  return costOf({ inputTokens: promptTokens, outputTokens: request.maxTokens }, model.pricing)?.costUsd ?? '0';
}

/** The text's length in UTF-8 bytes, without encoding it (works wherever byokit runs, Buffer or not). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    // A surrogate pair is 2 UTF-16 units and 4 bytes; a lone surrogate is sent as U+FFFD, 3 bytes.
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      bytes += 2;
      index++;
    } else bytes += 2;
  }
  return bytes;
}

import { ByokitError, isByokitError } from '../errors.js';
import type { CatalogModel, SamplingParameter } from '../catalog/model.js';
import type { RetiredModelWarnings } from '../catalog/retirements.js';
import type { Provider } from '../keys/providers.js';
import { modelNotFound, type ModelDirectory } from '../models/model-directory.js';
import type {
  FinishReason,
  ProviderChatRequest,
  ProviderChatResponse,
  ProviderClient,
  ProviderRetry,
  ProviderStreamEvent,
  TokenUsage,
} from '../providers/provider-types.js';
import { loggableError, loggableText, type Logger } from '../logging/logger.js';
import type { KeyResolver, ResolvedKey } from '../resolve/key-resolver.js';
import type { BudgetGuard } from '../metering/budget-guard.js';
import type { RateLimitGuard } from '../metering/rate-limit-guard.js';
import type { CallsInFlight } from '../metering/calls-in-flight.js';
import type { MeteredCall, UsageMeter } from '../metering/usage-meter.js';
import type { UsageStatus } from '../metering/usage-record.js';
import { assertWithinLimits, parametersLeftOut, type ProviderLimits } from './chat-limits.js';
import { DEFAULT_MAX_TOKENS, type ChatCompletion, type ChatCompletionChunk, type ChatCompletionRequest } from './chat-schemas.js';
import { latestUsage, usageBody } from './chat-usage.js';
import { onAbort, type Cancellation } from '../http/request-abort.js';
import type { StreamHead } from './keep-alive.js';
import { callerError, withKeySource } from './caller-error.js';

/** A complete answer, with whose key paid and the parameters the model refused (left out of the call). */
export interface ChatAnswer {
  keySource: ResolvedKey['source'];
  ignoredParameters: SamplingParameter[];
  completion: ChatCompletion;
}

/** A streamed answer: whose key pays, and the chunks (the last one carries usage). */
export interface ChatStream {
  keySource: ResolvedKey['source'];
  ignoredParameters: SamplingParameter[];
  chunks: AsyncIterable<ChatCompletionChunk>;
}

/** What a call carries besides the request: the caller's abort signal, and the request id its usage record keeps. */
export interface ChatCallContext {
  signal?: Cancellation;
  requestId: string;
  /**
   * A stream's call is with the provider: told whose key pays and what was left out, so that a route can write its
   * head before the provider's first event when that is long in coming (keep-alive.ts).
   */
  calling?: (head: StreamHead) => void;
}

interface PreparedCall {
  model: CatalogModel;
  /** Parameters the request set that the model refuses, left out of the call. */
  ignored: SamplingParameter[];
  resolved: ResolvedKey;
  client: ProviderClient;
  request: ProviderChatRequest;
  identity: { id: string; created: number; model: string; model_id: string; provider: Provider };
}

/**
 * A chat completion from request to answer: the model from the catalog, limits checked before any call
 * (422), the key resolved by the same function that lists models, the provider's answer normalised to
 * one shape with its usage and exact cost. The route and `byokit.chat()` both come here. The user's rate limit
 * is counted first, once per call, before anything that costs (a refused call touches neither the catalog,
 * the keys nor the budget); then the user's calls running at once (`concurrentCallsPerUser`). Every call
 * handed to a provider leaves one usage record (ok, error or aborted, with the tokens reported); a request
 * refused before that (its caller gone already, rate limited, too many at once, unknown model, limits, no key, over
 * budget) leaves none.
 */
export class ChatService {
  constructor(
    private readonly models: ModelDirectory,
    private readonly resolver: KeyResolver,
    private readonly clients: Record<Provider, ProviderClient>,
    private readonly limits: Record<Provider, ProviderLimits>,
    private readonly now: () => Date,
    private readonly meter: UsageMeter,
    private readonly budgets: BudgetGuard,
    private readonly rateLimits: RateLimitGuard,
    private readonly retiredModels: RetiredModelWarnings,
    private readonly inFlight: CallsInFlight,
    private readonly logger: Logger,
  ) {}

  /** One complete answer. */
  async complete(userId: string, request: ChatCompletionRequest, context: ChatCallContext): Promise<ChatAnswer> {
    assertNotGone(context.signal);
    await this.rateLimits.admit(userId, context.requestId);
    const end = this.inFlight.begin(userId);
    try {
      return await this.answer(userId, request, context);
    } finally {
      end();
    }
  }

  private async answer(userId: string, request: ChatCompletionRequest, { signal, requestId }: ChatCallContext): Promise<ChatAnswer> {
    const { call, metered } = await this.held(userId, request, requestId);
    let answer: ProviderChatResponse;
    try {
      answer = await withKeySource(call, () =>
        call.client.complete(call.request, { key: call.resolved.key, signal, onRetry: this.retryLog(call, requestId) }),
      );
    } catch (error) {
      this.meter.record(metered, signal?.aborted ? 'aborted' : 'error', {});
      if (keyRefused(error)) this.noteVerdict(call, requestId, 'invalid');
      throw error;
    }
    this.meter.record(metered, 'ok', answer.usage);
    this.noteVerdict(call, requestId, 'valid');
    const { id, created, model, model_id, provider } = call.identity;
    return {
      keySource: call.resolved.source,
      ignoredParameters: call.ignored,
      // Built field by field rather than spread: spreads are among the costlier steps on this path (docs/performance.md).
      completion: {
        id,
        created,
        model,
        model_id,
        provider,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: answer.finishReason }],
        usage: usageBody(answer.usage, call.model, call.resolved.source),
      },
    };
  }

  /**
   * A streamed answer. Resolves once the provider accepted the request and its first event is in, so that
   * an early refusal (even an error event after HTTP 200) is still a clean HTTP error (style.md).
   */
  async stream(userId: string, request: ChatCompletionRequest, { signal, requestId, calling }: ChatCallContext): Promise<ChatStream> {
    assertNotGone(signal);
    await this.rateLimits.admit(userId, requestId);
    // Running until the stream ends, read or not: settle ends it.
    const end = this.inFlight.begin(userId);
    const { call, metered } = await this.held(userId, request, requestId).catch((error: unknown) => {
      end();
      throw error;
    });
    // Once, however the stream ends; byokit.close() waits for it (UsageMeter.opened).
    const record = this.meter.opened(metered);
    const settle = (status: UsageStatus, usage: TokenUsage) => {
      end();
      record(status, usage);
    };
    calling?.({ keySource: call.resolved.source, ignoredParameters: call.ignored });
    let iterator: AsyncIterator<ProviderStreamEvent>;
    let first: IteratorResult<ProviderStreamEvent>;
    try {
      const events = await withKeySource(call, () =>
        call.client.stream(call.request, { key: call.resolved.key, signal, onRetry: this.retryLog(call, requestId) }),
      );
      iterator = events[Symbol.asyncIterator]();
      first = await iterator.next();
    } catch (error) {
      settle(signal?.aborted ? 'aborted' : 'error', {});
      if (keyRefused(error)) this.noteVerdict(call, requestId, 'invalid');
      throw error;
    }
    if (!first.done && first.value.type === 'error') {
      await iterator.return?.();
      settle('error', {});
      const error = callerError(first.value.error, call);
      if (keyRefused(error)) this.noteVerdict(call, requestId, 'invalid');
      throw error;
    }
    this.noteVerdict(call, requestId, 'valid');
    // A generator that was never started runs none of its code when it is ended (its `finally` included), so a
    // consumer that leaves before its first chunk (a fetch body cancelled unread) would leave the call unrecorded
    // and its budget hold counting for 15 minutes. Until the chunks are read, the caller's abort ends the call.
    let reading = false;
    const stopListening = signal
      ? onAbort(signal, () => {
          if (reading) return;
          reading = true;
          void iterator.return?.();
          settle('aborted', !first.done && first.value.type === 'usage' ? first.value.usage : {});
        })
      : () => {};
    const begin = () => {
      if (reading) return false;
      reading = true;
      stopListening();
      return true;
    };
    return {
      keySource: call.resolved.source,
      ignoredParameters: call.ignored,
      chunks: chunksOf(call, first, iterator, settle, signal, begin),
    };
  }

  /**
   * What the provider said of a stored key, for its key status: `invalid` when it refused the key, `valid` when it
   * answered. Written after the answer, never waited for by the call (KeyResolver.noteVerdict).
   */
  private noteVerdict(call: PreparedCall, requestId: string, verdict: 'valid' | 'invalid'): void {
    this.resolver
      .noteVerdict(call.resolved.key, verdict)
      ?.catch((error: unknown) =>
        this.logger.warn(
          { requestId, provider: call.model.provider, keySource: call.resolved.source, err: loggableError(error) },
          `The provider's verdict on the key (${verdict}) could not be written to storage: its key status keeps the one before.`,
        ),
      );
  }

  /**
   * Each try of a call made again is a warning: the call may yet be answered, and its one usage record says nothing
   * of it, yet the provider failed, was called again and may bill both tries (a connection that broke after the
   * request was sent). The line is the error the try would have been, as its caller would have seen it.
   */
  private retryLog(call: PreparedCall, requestId: string): (retry: ProviderRetry) => void {
    return ({ retry, retries, waitMs, error }) => {
      const failure = callerError(error, call) as ByokitError;
      this.logger.warn(
        {
          requestId,
          code: failure.code,
          provider: call.model.provider,
          model: loggableText(call.model.model),
          keySource: call.resolved.source,
          retry,
          retries,
          waitMs,
          err: loggableError(failure),
        },
        `${loggableText(failure.message.replace(/\.$/, ''))}; trying it again in ${waitMs} ms (retry ${retry} of ${retries}).`,
      );
    };
  }

  /**
   * The call prepared and its budget held: the hold comes last before the provider, and from here on every way
   * out ends it (UsageMeter).
   */
  private async held(
    userId: string,
    request: ChatCompletionRequest,
    requestId: string,
  ): Promise<{ call: PreparedCall; metered: MeteredCall }> {
    const startedAt = performance.now();
    const call = await this.prepare(userId, request);
    const holdId = await this.budgets.hold(userId, call.model, call.request, call.resolved.source);
    return { call, metered: meteredCall(userId, call, requestId, startedAt, holdId, this.budgets) };
  }

  private async prepare(userId: string, request: ChatCompletionRequest): Promise<PreparedCall> {
    const catalog = await this.models.catalog();
    const model = catalog.get(request.model_id);
    if (!model) throw modelNotFound();
    if (!model.isActive)
      throw new ByokitError('model_inactive', `${model.displayName} is not active; an admin can activate it.`, {
        provider: model.provider,
      });
    this.retiredModels.check(model, catalog);
    const limits = this.limits[model.provider];
    // Parameters this model refuses (the catalog's word, or its provider's rule for it: chat-limits.ts) are left out
    // rather than fail the call; the caller is told which.
    const ignored = parametersLeftOut(request, model, limits);
    assertWithinLimits(request, model, limits, ignored);
    const resolved = await this.resolver.resolve(userId, model.provider);
    const sent = (parameter: SamplingParameter) => !ignored.includes(parameter);
    const stop = request.stop === undefined || !sent('stop') ? undefined : typeof request.stop === 'string' ? [request.stop] : request.stop;
    const providerRequest: ProviderChatRequest = {
      model: model.model,
      messages: request.messages,
      maxTokens: request.max_tokens ?? Math.min(DEFAULT_MAX_TOKENS, model.maxOutputTokens),
    };
    if (request.temperature !== undefined && sent('temperature')) providerRequest.temperature = request.temperature;
    if (request.top_p !== undefined && sent('top_p')) providerRequest.topP = request.top_p;
    if (stop) providerRequest.stop = stop;
    return {
      model,
      ignored,
      resolved,
      client: this.clients[model.provider],
      request: providerRequest,
      identity: {
        id: `chatcmpl-${crypto.randomUUID().replaceAll('-', '')}`,
        created: Math.floor(this.now().getTime() / 1000),
        model: model.model,
        model_id: model.id,
        provider: model.provider,
      },
    };
  }
}

/** Whether a call's failure is its provider refusing the key (any other failure says nothing of the key). */
const keyRefused = (error: unknown) => isByokitError(error) && error.code === 'provider_key_rejected';

/**
 * A caller gone before the call began (a signal aborted already: through an adapter, a client that left while the
 * host's authenticate was still answering) is not called for: nothing is counted against the user (rate limit, calls
 * at once, budget hold), and no usage record says a call was made that never reached the provider. Thrown as the
 * signal's reason, as fetch does, so that its failure is the caller's abort (logged at debug level, clientGone).
 */
function assertNotGone(signal: Cancellation | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/**
 * The provider's events as the contract's chunks; usage and the finish reason come last, as OpenAI sends them.
 * When it ends, `settle` gets how (the answer complete, an error, or the consumer gone) and the usage seen.
 */
async function* chunksOf(
  call: PreparedCall,
  first: IteratorResult<ProviderStreamEvent>,
  iterator: AsyncIterator<ProviderStreamEvent>,
  settle: (status: UsageStatus, usage: TokenUsage) => void,
  signal: Cancellation | undefined,
  begin: () => boolean,
): AsyncGenerator<ChatCompletionChunk> {
  // The caller went away before this started: the call was ended and recorded then.
  if (!begin()) throw signal?.reason ?? new Error('The stream was left before it was read.');
  const { id, created, model, model_id, provider } = call.identity;
  // Each chunk built field by field: a spread per chunk costs more than the rest of making it (docs/performance.md).
  const chunk = (choices: ChatCompletionChunk['choices']): ChatCompletionChunk => ({
    id,
    created,
    model,
    model_id,
    provider,
    object: 'chat.completion.chunk',
    choices,
  });
  let usage: TokenUsage = {};
  let finishReason: FinishReason = 'stop';
  let roleSent = false;
  // Until the provider's answer is whole, an end is the consumer going away.
  let status: UsageStatus = 'aborted';
  // While a chunk is with the consumer: what is thrown then is its throw() (a host's `yield*` relaying its own
  // consumer's), the consumer leaving as with return(), not a failure of the call.
  let withConsumer = false;
  try {
    for (let step = first; !step.done; step = await iterator.next()) {
      const event = step.value;
      switch (event.type) {
        case 'text':
          withConsumer = true;
          yield chunk([
            { index: 0, delta: roleSent ? { content: event.text } : { role: 'assistant', content: event.text }, finish_reason: null },
          ]);
          withConsumer = false;
          roleSent = true;
          break;
        case 'usage':
          usage = latestUsage(usage, event.usage);
          break;
        case 'finish':
          finishReason = event.finishReason;
          break;
        case 'error':
          status = 'error';
          throw callerError(event.error, call);
        default: {
          const exhaustive: never = event;
          throw new Error(`unknown stream event ${JSON.stringify(exhaustive)}`);
        }
      }
    }
    status = 'ok';
    yield chunk([{ index: 0, delta: roleSent ? {} : { role: 'assistant' }, finish_reason: finishReason }]);
    const last = chunk([]);
    last.usage = usageBody(usage, call.model, call.resolved.source);
    yield last;
  } catch (error) {
    if (status === 'aborted' && !signal?.aborted && !withConsumer) status = 'error';
    throw error;
  } finally {
    // The consumer stopped early (client gone) or the stream failed: cancel the upstream request too.
    await iterator.return?.();
    settle(status, usage);
  }
}

function meteredCall(
  userId: string,
  call: PreparedCall,
  requestId: string,
  startedAt: number,
  holdId: string | undefined,
  budgets: BudgetGuard,
): MeteredCall {
  const metered: MeteredCall = { userId, model: call.model, keySource: call.resolved.source, requestId, startedAt };
  if (holdId !== undefined) {
    metered.holdId = holdId;
    // Until the call ends, however long it runs: its record, which takes the hold's place, comes only then.
    metered.stopRenewing = budgets.renewWhileRunning(holdId, requestId);
  }
  return metered;
}

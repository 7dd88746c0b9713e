import type { ChatCompletion, ChatCompletionChunk, ChatUsage } from '../chat/chat-schemas.js';
import type { OpenAIChunk, OpenAICompletion } from './openai-schemas.js';

type Identity = Pick<ChatCompletion, 'id' | 'created' | 'model' | 'model_id' | 'provider'>;

/** byokit's answer as OpenAI's `chat.completion`; byokit's own facts (cost, key source) under `byokit`. */
export function toOpenAICompletion(completion: ChatCompletion): OpenAICompletion {
  return {
    id: completion.id,
    object: 'chat.completion',
    created: completion.created,
    model: completion.model,
    choices: completion.choices.map((choice) => ({
      index: choice.index,
      message: { role: 'assistant', content: choice.message.content, refusal: null },
      finish_reason: choice.finish_reason,
      logprobs: null,
    })),
    usage: openAIUsage(completion.usage),
    byokit: extension(completion, completion.usage),
  };
}

/**
 * byokit's chunks as OpenAI's `chat.completion.chunk`s. As OpenAI does, the usage chunk (no choices) is sent
 * only when the request asked for it with `stream_options.include_usage`, and then every other chunk carries
 * `usage: null` (platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options). The caller
 * going away ends this generator, which ends the native one, which aborts the provider call.
 */
export async function* toOpenAIChunks(chunks: AsyncIterable<ChatCompletionChunk>, includeUsage: boolean): AsyncGenerator<OpenAIChunk> {
  for await (const chunk of chunks) {
    const identity = { id: chunk.id, object: 'chat.completion.chunk' as const, created: chunk.created, model: chunk.model };
    if (chunk.usage) {
      if (includeUsage) yield { ...identity, choices: [], usage: openAIUsage(chunk.usage), byokit: extension(chunk, chunk.usage) };
      continue;
    }
    yield {
      ...identity,
      choices: chunk.choices.map((choice) => ({ ...choice, logprobs: null })),
      ...(includeUsage && { usage: null }),
    };
  }
}

/**
 * byokit's usage in OpenAI's shape. Both count every prompt token, cached ones included, and every output
 * token, reasoning included. OpenAI's three totals are required numbers: a count the provider did not report
 * is 0 here (the usage record keeps it as not reported); the details are left out when not reported.
 */
function openAIUsage(usage: ChatUsage): OpenAICompletion['usage'] {
  const prompt = usage.prompt_tokens ?? 0;
  const completion = usage.completion_tokens ?? 0;
  // Where OpenAI puts them: cache reads in `cached_tokens`, cache writes (GPT-5.6 on) in `cache_write_tokens`.
  const promptDetails =
    usage.cached_tokens === null && usage.cache_write_tokens === null
      ? undefined
      : {
          ...(usage.cached_tokens !== null && { cached_tokens: usage.cached_tokens }),
          ...(usage.cache_write_tokens !== null && { cache_write_tokens: usage.cache_write_tokens }),
        };
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: usage.total_tokens ?? prompt + completion,
    ...(promptDetails && { prompt_tokens_details: promptDetails }),
    ...(usage.reasoning_tokens !== null && { completion_tokens_details: { reasoning_tokens: usage.reasoning_tokens } }),
  };
}

function extension(identity: Identity, usage: ChatUsage): OpenAICompletion['byokit'] {
  return { model_id: identity.model_id, provider: identity.provider, key_source: usage.key_source, cost_usd: usage.cost_usd };
}

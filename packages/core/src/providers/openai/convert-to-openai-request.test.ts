import { describe, expect, it } from 'vitest';
import type { ProviderChatRequest } from '../provider-types.js';
import { convertToOpenAIRequest } from './convert-to-openai-request.js';

const base: ProviderChatRequest = { model: 'gpt-4.1-nano', messages: [{ role: 'user', content: 'Hi' }], maxTokens: 64 };

describe('convertToOpenAIRequest', () => {
  it('sends only what the request set: no temperature, top_p or stop when absent, no stream_options without a stream', () => {
    expect(convertToOpenAIRequest(base, false)).toStrictEqual({
      body: { model: 'gpt-4.1-nano', messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 64, stream: false },
      warnings: [],
    });
  });

  it('never sends the deprecated max_tokens, which reasoning models refuse', () => {
    expect(convertToOpenAIRequest(base, true).body).not.toHaveProperty('max_tokens');
  });

  it('sends role and content of each message and nothing else a caller attached', () => {
    // A message object carrying more than the type declares, as a careless caller could pass.
    const message = { role: 'user' as const, content: 'Hi', base_url: 'http://169.254.169.254/' };
    expect(convertToOpenAIRequest({ ...base, messages: [message] }, false).body.messages).toStrictEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('keeps the first four stop sequences and warns about the rest', () => {
    const { body, warnings } = convertToOpenAIRequest({ ...base, stop: ['a', 'b', 'c', 'd', 'e'] }, false);
    expect(body.stop).toEqual(['a', 'b', 'c', 'd']);
    expect(warnings).toEqual(['stop: OpenAI takes at most 4 stop sequences; the rest were left out.']);
  });

  it('leaves out an empty stop list', () => {
    expect(convertToOpenAIRequest({ ...base, stop: [] }, false).body).not.toHaveProperty('stop');
  });
});

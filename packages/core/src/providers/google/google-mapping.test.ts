import { describe, expect, it } from 'vitest';
import { durationSeconds, googleStreamError, isGoogleKeyRejection, readGoogleError } from './google-error.js';
import { convertGoogleUsage } from './google-usage.js';
import { mapGoogleFinishReason } from './map-google-finish-reason.js';

describe('mapGoogleFinishReason', () => {
  it.each([
    ['STOP', 'stop'],
    ['MAX_TOKENS', 'length'],
    ['CONTINUATION', 'length'],
    ['SAFETY', 'content_filter'],
    ['RECITATION', 'content_filter'],
    ['LANGUAGE', 'content_filter'],
    ['BLOCKLIST', 'content_filter'],
    ['PROHIBITED_CONTENT', 'content_filter'],
    ['SPII', 'content_filter'],
    ['IMAGE_SAFETY', 'content_filter'],
    ['IMAGE_PROHIBITED_CONTENT', 'content_filter'],
    ['IMAGE_RECITATION', 'content_filter'],
    ['MALFORMED_FUNCTION_CALL', 'error'],
    ['UNEXPECTED_TOOL_CALL', 'error'],
    ['TOO_MANY_TOOL_CALLS', 'error'],
    ['MISSING_THOUGHT_SIGNATURE', 'error'],
    ['NO_IMAGE', 'error'],
    ['IMAGE_OTHER', 'error'],
    ['OTHER', 'error'],
    ['FINISH_REASON_UNSPECIFIED', 'error'],
    ['SOMETHING_GOOGLE_ADDS_LATER', 'error'],
  ])('maps %s to %s', (google, unified) => {
    expect(mapGoogleFinishReason(google)).toBe(unified);
  });
});

describe('convertGoogleUsage', () => {
  it('counts output as candidates + thoughts and reasoning as thoughts', () => {
    expect(convertGoogleUsage({ promptTokenCount: 9, candidatesTokenCount: 29, thoughtsTokenCount: 256, totalTokenCount: 294 })).toEqual({
      inputTokens: 9,
      outputTokens: 285,
      reasoningTokens: 256,
    });
  });

  it('counts output as the candidates alone when there was no thinking', () => {
    expect(convertGoogleUsage({ promptTokenCount: 9, candidatesTokenCount: 3 })).toEqual({ inputTokens: 9, outputTokens: 3 });
  });

  it('keeps cached tokens inside the input (promptTokenCount already includes them)', () => {
    expect(convertGoogleUsage({ promptTokenCount: 100, cachedContentTokenCount: 80, candidatesTokenCount: 1 })).toEqual({
      inputTokens: 100,
      cachedInputTokens: 80,
      outputTokens: 1,
    });
  });

  it('reports nothing, not zeros, when Gemini reported nothing', () => {
    expect(convertGoogleUsage(undefined)).toEqual({});
    expect(convertGoogleUsage({})).toEqual({});
    expect(convertGoogleUsage({ promptTokenCount: 4 }).outputTokens).toBeUndefined();
  });
});

describe('Google error bodies', () => {
  it('reads a RetryInfo delay as whole seconds, rounded up', () => {
    expect(durationSeconds('34.4s')).toBe(35);
    expect(durationSeconds('60s')).toBe(60);
    expect(durationSeconds('0.000000001s')).toBe(1);
    expect(durationSeconds('0s')).toBe(0);
    expect(durationSeconds('34.4')).toBeUndefined();
    expect(durationSeconds('-1s')).toBeUndefined();
    expect(durationSeconds('1e9s')).toBeUndefined();
  });

  it('reads only the message and the delay, and nothing from a body of another shape', () => {
    expect(
      readGoogleError({
        error: { message: 'Quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '2s' }] },
      }),
    ).toEqual({
      message: 'Quota',
      retryAfterSeconds: 2,
    });
    expect(readGoogleError('<html>Bad gateway</html>')).toEqual({});
    expect(readGoogleError(undefined)).toEqual({});
  });

  it('takes only an ErrorInfo API_KEY_INVALID or API_KEY_EXPIRED for a refused key', () => {
    const body = (reason: string, type = 'type.googleapis.com/google.rpc.ErrorInfo') => ({
      error: { code: 400, details: [{ '@type': type, reason }] },
    });
    expect(isGoogleKeyRejection(body('API_KEY_INVALID'))).toBe(true);
    expect(isGoogleKeyRejection(body('API_KEY_EXPIRED'))).toBe(true);
    expect(isGoogleKeyRejection(body('API_KEY_INVALID', 'type.googleapis.com/google.rpc.DebugInfo'))).toBe(false);
    expect(isGoogleKeyRejection(body('RATE_LIMIT_EXCEEDED'))).toBe(false);
    expect(isGoogleKeyRejection({ error: { code: 400, message: 'API key not valid.' } })).toBe(false);
  });

  it('maps an error sent inside a stream by its code', () => {
    const quota = {
      error: { code: 429, message: 'Quota', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1.5s' }] },
    };
    expect(googleStreamError(quota)).toMatchObject({ code: 'provider_rate_limited', details: { retryAfterSeconds: 2 } });
    expect(googleStreamError({ error: { code: 503 } }).code).toBe('provider_unavailable');
    expect(googleStreamError({ error: { code: 504 } }).code).toBe('provider_timeout');
    expect(
      googleStreamError({
        error: { code: 400, details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }] },
      }).code,
    ).toBe('provider_key_rejected');
    expect(googleStreamError({ error: 'nope' }).code).toBe('provider_error');
  });

  it('scrubs a key out of a message Google echoes', () => {
    const key = `AIza${'x'.repeat(35)}`;
    expect(googleStreamError({ error: { code: 500, message: `bad key ${key}` } }).message).not.toContain(key);
  });
});

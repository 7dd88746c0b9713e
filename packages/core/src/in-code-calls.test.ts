import { describe, expect, it } from 'vitest';
import { isByokitError } from './errors.js';
import { testByokit } from './http/test-helpers.js';

// What a host passes to byokit's methods in code is not checked by the routes' schemas: the same mistakes get
// a ByokitError saying what is wrong, not a misleading message or a lookup with nonsense.
describe('bad input given in code', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['an invalid Date', { from: new Date('not a date') }, '`from` must be a valid Date.'],
    ['a date as text', { to: '2026-12-01' }, '`to` must be a valid Date.'],
    ['a timestamp as a number', { from: 0 }, '`from` must be a valid Date.'],
    ['an unknown grouping', { groupBy: 'week' }, '`groupBy` must be one of day, model, provider, key_source, user.'],
  ])('byokit.usage.query with %s says what is wrong', async (_what, request, message) => {
    const { byokit } = await testByokit();
    const error = await byokit.usage.query(request as never).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual(['validation_failed', message]);
  });

  it('byokit.usage.query still says when from is not before to', async () => {
    const { byokit } = await testByokit();
    const error = await byokit.usage.query({ from: new Date('2026-12-02'), to: new Date('2026-12-01') }).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.message, error.details.issues]).toEqual([
      '`from` must be before `to`.',
      [{ path: 'from', message: '`from` must be before `to`.' }],
    ]);
  });

  it('byokit.usage.query with `to` alone covers the month it ends in, up to it', async () => {
    const { byokit } = await testByokit({ now: () => new Date('2026-12-04T12:00:00Z') });
    const november = await byokit.usage.query({ to: new Date('2026-12-01') });
    expect(november.window).toEqual({ from: new Date('2026-11-01'), to: new Date('2026-12-01') });
    const thisMonth = await byokit.usage.query();
    expect(thisMonth.window).toEqual({ from: new Date('2026-12-01'), to: new Date('2026-12-04T12:00:00Z') });
  });

  it.each<[string, unknown]>([
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['1,001', 1001],
    ['text', '20'],
  ])('byokit.usage.events with a page size of %s says what is wrong, not the storage', async (_what, limit) => {
    const { byokit, storage } = await testByokit();
    let read = false;
    const listUsage = storage.listUsage.bind(storage);
    storage.listUsage = async (query) => ((read = true), listUsage(query));
    const error = await byokit.usage.events('alice', { limit: limit as number }).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual([
      'validation_failed',
      'limit must be a whole number from 1 to 1000.',
    ]);
    expect(read).toBe(false);
    expect((await byokit.usage.events('alice', { limit: 1000 })).records).toEqual([]);
  });

  it('byokit.resolveKey with a provider byokit does not speak to is refused, not looked up', async () => {
    const { byokit, storage } = await testByokit();
    let lookedUp = false;
    storage.getKey = async () => ((lookedUp = true), null);
    const error = await byokit.resolveKey({ userId: 'alice' }, 'cohere' as never).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual([
      'validation_failed',
      'provider must be one of anthropic, openai, google.',
    ]);
    expect(lookedUp).toBe(false);
  });

  it('a user id longer than 255 characters is refused on memory storage too, as PostgreSQL could not store it', async () => {
    const { byokit, storage } = await testByokit();
    let lookedUp = false;
    storage.getKey = async () => ((lookedUp = true), null);
    const error = await byokit.resolveKey({ userId: 'u'.repeat(256) }, 'anthropic').catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual([
      'validation_failed',
      'userId is longer than 255 characters: it must be a non-empty string of at most 255 characters of well-formed Unicode without NUL (U+0000), holding no provider API key, and not `.` or `..`.',
    ]);
    expect(lookedUp).toBe(false);
    // 255 is looked up (and has no key).
    await expect(byokit.resolveKey({ userId: 'u'.repeat(255) }, 'anthropic')).rejects.toMatchObject({ code: 'api_key_required' });
    expect(lookedUp).toBe(true);
  });

  // A host's own auth answers null for nobody signed in; passed on as is, it was "Cannot read properties of null".
  it.each([null, undefined, 'alice'])(
    'byokit.chat, chatStream and resolveKey with %s as the principal say what to pass',
    async (principal) => {
      const { byokit } = await testByokit();
      const request = { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user' as const, content: 'Hi' }] };
      const calls = [
        () => byokit.chat(principal as never, request),
        async () => {
          for await (const _chunk of byokit.chatStream(principal as never, request));
        },
        () => byokit.resolveKey(principal as never, 'anthropic'),
      ];
      for (const call of calls) {
        const error = await call().catch((caught: unknown) => caught);
        expect(isByokitError(error) && [error.code, error.message]).toEqual([
          'validation_failed',
          `The principal must be { userId }, the user the call is for; got ${principal === null || principal === undefined ? String(principal) : `a ${typeof principal}`}.`,
        ]);
      }
    },
  );
});

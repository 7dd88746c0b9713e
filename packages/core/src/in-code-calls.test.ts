import { describe, expect, it } from 'vitest';
import { isByokitError } from './errors.js';
import { alice, mockProvidersForFile, testByokit } from './http/test-helpers.js';
import { fakeProviderKey } from './keys/fake-keys.js';
import type { UsageRecord } from './metering/usage-record.js';

const mock = mockProvidersForFile();

// What a host passes to byokit's methods in code is not checked by the routes' schemas: the same mistakes get
// a ByokitError saying what is wrong, not a misleading message or a lookup with nonsense.
describe('bad input given in code', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['an invalid Date', { from: new Date('not a date') }, '`from` must be a valid Date.'],
    ['a date as text', { to: '2026-12-01' }, '`to` must be a valid Date.'],
    ['a timestamp as a number', { from: 0 }, '`from` must be a valid Date.'],
    ['a date past 9999, as the routes refuse it', { to: new Date('+010000-01-01T00:00:00Z') }, 'A date from 1970 to 9999.'],
    ['a date before 1970, as the routes refuse it', { from: new Date('1969-12-31T23:59:59.999Z') }, 'A date from 1970 to 9999.'],
    ['an unknown grouping', { groupBy: 'week' }, '`groupBy` must be one of day, model, provider, key_source, user.'],
  ])('byokit.usage.query with %s says what is wrong', async (_what, request, message) => {
    const { byokit } = await testByokit();
    const error = await byokit.usage.query(request as never).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual(['validation_failed', message]);
  });

  // A filter byokit does not read was ignored: `query({ user: id, groupBy })` (TypeScript checks a literal, not an
  // object built beforehand) or `query(id)` in JavaScript, as `events(id)` takes it, answered every user's usage
  // where the host meant one user's, for it to show that user. Text or null failed as a TypeError, or not at all.
  it.each<[string, unknown, string]>([
    ['a filter it does not read', { user: 'alice', groupBy: 'model' }, 'The usage query has no user: it takes userId, from, to, groupBy.'],
    ['a user id in place of the filter', 'alice', 'The usage query must be { userId?, from?, to?, groupBy? }; got a string.'],
    ['null', null, 'The usage query must be { userId?, from?, to?, groupBy? }; got null.'],
  ])("byokit.usage.query with %s is refused, never answered with every user's usage", async (_what, request, message) => {
    const { byokit, storage } = await testByokit();
    let summed = false;
    const summarizeUsage = storage.summarizeUsage.bind(storage);
    storage.summarizeUsage = async (query) => ((summed = true), summarizeUsage(query));
    const error = await byokit.usage.query(request as never).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message]).toEqual(['validation_failed', message]);
    expect(summed).toBe(false);
  });

  it.each<[string, unknown, string]>([
    ['a setting it does not read', { limt: 5 }, 'The page has no limt: it takes limit, cursor.'],
    ['a page size in place of the page', 20, 'The page must be { limit?, cursor? }; got a number.'],
    ['null', null, 'The page must be { limit?, cursor? }; got null.'],
  ])('byokit.usage.events with %s as the page says what is wrong', async (_what, page, message) => {
    const { byokit } = await testByokit();
    const error = await byokit.usage.events('alice', page as never).catch((caught: unknown) => caught);
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

  it("byokit.usage.events with a cursor it did not give says to pass back a page's `next`, the field its pages have in code", async () => {
    const { byokit } = await testByokit();
    const error = await byokit.usage.events('alice', { cursor: 'not-a-cursor' }).catch((caught: unknown) => caught);
    expect(isByokitError(error) && [error.code, error.message, error.details.issues]).toEqual([
      'validation_failed',
      'cursor is not one this API gave: pass next of the previous page as it is.',
      [{ path: 'cursor', message: 'cursor is not one this API gave: pass next of the previous page as it is.' }],
    ]);
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

  // Plain JavaScript hosts pass what fetch() takes, or mistype it. An AbortController or a signal of no kind failed
  // deep inside as "The Anthropic API could not be reached" and left an `error` record of a call no provider saw; a
  // signal passed in place of the options was ignored (the call ran on once the host aborted); a request id was
  // kept as given, a provider key in it in the usage record and onUsage, a NUL in it unwritable to PostgreSQL.
  const SIGNAL_RULE = 'signal must be an AbortSignal';
  const REQUEST_ID_RULE =
    "requestId must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-', holding no provider API key, as x-request-id";
  it.each<[string, unknown, string]>([
    [
      'an AbortController in place of its signal',
      { signal: new AbortController() },
      `${SIGNAL_RULE}; got an AbortController: pass its signal.`,
    ],
    ['a signal that is not one', { signal: { aborted: false } }, `${SIGNAL_RULE}; got an object.`],
    [
      'a signal in place of the options',
      new AbortController().signal,
      'The options object must be { signal?, requestId? }; got an AbortSignal: pass { signal }.',
    ],
    ['options that are text', 'job-1', 'The options object must be { signal?, requestId? }; got a string.'],
    [
      'an option byokit does not read',
      { requestID: 'job-1' },
      'The options object has no requestID (did you mean requestId?): it takes signal, requestId.',
    ],
    ['a request id that is a number', { requestId: 42 }, `${REQUEST_ID_RULE}; got a number.`],
    ['a request id holding a provider key', { requestId: fakeProviderKey('openai') }, `${REQUEST_ID_RULE}.`],
    ['a request id with a NUL', { requestId: 'job\u00001' }, `${REQUEST_ID_RULE}.`],
    ['an empty request id', { requestId: '' }, `${REQUEST_ID_RULE}.`],
  ])('byokit.chat and chatStream with %s say what is wrong, before any provider or record', async (_what, options, message) => {
    const records: UsageRecord[] = [];
    const { byokit, storage } = await testByokit({
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
      onUsage: (record) => void records.push(record),
    });
    // Claude Sonnet 5.5 (built-in-models.ts): an active Anthropic model.
    const request = { model_id: 'f8249082-e6ae-5964-b84f-719fa94f6a67', messages: [{ role: 'user' as const, content: 'Hi' }] };
    const calls = [
      () => byokit.chat(alice, request, options as never),
      async () => {
        for await (const _chunk of byokit.chatStream(alice, request, options as never));
      },
    ];
    for (const call of calls) {
      const error = await call().catch((caught: unknown) => caught);
      expect(isByokitError(error) && [error.code, error.message]).toEqual(['validation_failed', message]);
    }
    await byokit.close();
    expect(mock.requests).toEqual([]);
    expect((await storage.listUsage({ limit: 10 })).records).toEqual([]);
    expect(records).toEqual([]);
  });

  it('byokit.chat takes a signal, or null as fetch() does, and a request id as x-request-id takes it', async () => {
    const { byokit, storage } = await testByokit({
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: mock.baseUrls.anthropic, retries: 0 } },
    });
    const request = { model_id: 'f8249082-e6ae-5964-b84f-719fa94f6a67', messages: [{ role: 'user' as const, content: 'Hi' }] };
    await byokit.chat(alice, request, { signal: new AbortController().signal, requestId: 'job:42.run_1-a' });
    await byokit.chat(alice, request, { signal: null, requestId: undefined });
    await byokit.chat(alice, request, {});
    await byokit.close();
    const records = (await storage.listUsage({ limit: 10 })).records;
    expect(records.map((record) => record.status)).toEqual(['ok', 'ok', 'ok']);
    expect(records.map((record) => record.requestId)).toContain('job:42.run_1-a');
  });
});

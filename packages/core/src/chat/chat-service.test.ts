import { createServer, type AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { Agent, MockAgent, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderSettings } from '../providers/provider-types.js';
import { USER_GUIDE_SONNET_4_5_ID } from '../catalog/built-in-models.js';
import { isByokitError } from '../errors.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { alice, testByokit } from '../http/test-helpers.js';

const BASE_URL = 'https://api.anthropic.com';
const request = { model_id: USER_GUIDE_SONNET_4_5_ID, messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 16 };

/** undici's MockAgent as hosts use it in their tests: a request whose headers match no interceptor fails, quoting them. */
function mockAgentExpectingOtherHeaders(): ProviderSettings {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agent
    .get(BASE_URL)
    .intercept({ path: '/v1/messages', method: 'POST', headers: { 'x-api-key': 'another' } })
    .reply(200, {});
  return { baseUrl: BASE_URL, dispatcher: agent };
}

/** A host's interceptor that refuses the call and, as many wrappers do, attaches the request to its error. */
function interceptorAttachingTheRequest(): ProviderSettings {
  const dispatcher = new Agent().compose(() => (options) => {
    const error = new Error('refused by the egress policy', { cause: new Error(`headers: ${JSON.stringify(options.headers)}`) });
    throw Object.assign(error, { code: 'EGRESS_REFUSED', request: { origin: options.origin, headers: options.headers } });
  });
  return { baseUrl: BASE_URL, dispatcher };
}

/** A host's interceptor that tries each of its proxies and gives up with an AggregateError, each attempt quoting the request. */
function interceptorGivingUpOnEveryProxy(): ProviderSettings {
  const dispatcher = new Agent().compose(() => (options) => {
    const attempts = ['proxy-a', 'proxy-b'].map((proxy) => new Error(`${proxy} refused ${JSON.stringify(options.headers)}`));
    throw new AggregateError(attempts, 'EGRESS_REFUSED by every proxy');
  });
  return { baseUrl: BASE_URL, dispatcher };
}

/** A host's interceptor that refuses with a plain object, not an Error, holding the request's headers. */
function interceptorThrowingAnObject(): ProviderSettings {
  const dispatcher = new Agent().compose(() => (options) => {
    throw { code: 'EGRESS_REFUSED', headers: options.headers };
  });
  return { baseUrl: BASE_URL, dispatcher };
}

/** A host's interceptor that throws a proxy revoked meanwhile (a client wrapped in Proxy.revocable): every read of it throws. */
function interceptorThrowingARevokedProxy(): ProviderSettings {
  const dispatcher = new Agent().compose(() => () => {
    throw revokedProxy();
  });
  return { baseUrl: BASE_URL, dispatcher };
}

/** A host's interceptor that throws an object whose `code` getter fails, quoting the request's headers. */
function interceptorWhoseErrorCodeThrows(): ProviderSettings {
  const dispatcher = new Agent().compose(() => (options) => {
    throw {
      get code(): never {
        throw new Error(`no code for ${JSON.stringify(options.headers)}`);
      },
    };
  });
  return { baseUrl: BASE_URL, dispatcher };
}

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

/**
 * A base URL that points at something other than an HTTP server, which answers with what it was sent (a
 * debugging echo, a port mixed up): undici's HTTPParserError keeps the bytes it could not parse as `data`.
 */
const echo = createServer((socket) => socket.once('data', (request) => socket.end(`NOT HTTP\r\n${String(request)}\r\n\r\n`)));
beforeAll(() => new Promise<void>((listening) => echo.listen(0, '127.0.0.1', listening)));
afterAll(() => new Promise((closed) => echo.close(closed)));

const echoServer = (): ProviderSettings => ({ baseUrl: `http://127.0.0.1:${(echo.address() as AddressInfo).port}` });

/** Everything a host's logger writes of an error: its own fields, message, stack and every cause, however deep. */
const everythingOf = (error: unknown) => inspect(error, { depth: Infinity, showHidden: true });

describe('a provider call that fails below byokit', () => {
  it.each<[string, () => ProviderSettings]>([
    ["undici's MockAgent, which quotes the request's headers", mockAgentExpectingOtherHeaders],
    ["a host's interceptor that attaches the request to its error", interceptorAttachingTheRequest],
    ['a base URL whose server echoes the request back, not in HTTP', echoServer],
    ["a host's interceptor that gives up with an AggregateError of attempts that each quote the request", interceptorGivingUpOnEveryProxy],
    ["a host's interceptor that throws a plain object holding the request's headers", interceptorThrowingAnObject],
    ["a host's interceptor that throws a revoked proxy", interceptorThrowingARevokedProxy],
    ["a host's interceptor that throws an object whose code getter throws, quoting the request's headers", interceptorWhoseErrorCodeThrows],
  ])('rejects byokit.chat and chatStream with no piece of the key in the error or its causes: %s', async (_what, settings) => {
    const key = fakeProviderKey('anthropic');
    const { byokit } = await testByokit({
      environment: { ANTHROPIC_API_KEY: key },
      providers: { anthropic: { ...settings(), retries: 0 } },
    });
    const completion = await byokit.chat(alice, request).catch((error: unknown) => error);
    const stream = await (async () => {
      for await (const _chunk of byokit.chatStream(alice, request));
    })().catch((error: unknown) => error);
    for (const error of [completion, stream]) {
      expect(isByokitError(error) && error.code).toBe('provider_unavailable');
      expect(findKeyLeaks([key], [['the rejection', everythingOf(error)]])).toEqual([]);
    }
    // What went wrong below is still there to read, without the key.
    expect(everythingOf(completion)).toMatch(/MockNotMatchedError|EGRESS_REFUSED|HTTPParserError|not an Error: object/);
    await byokit.close();
  });
});

// As from a socket's event: a failure the host's dispatcher reports once the answer has begun, which byokit must read to
// end the stream. A read that threw was thrown back into the dispatcher, the stream left open, never to end.
describe("a streamed answer whose host's dispatcher reports a failure that cannot be read (a revoked proxy)", () => {
  it('ends the stream as provider_unavailable, records the call, and close() ends', async () => {
    const controller = { abort() {}, pause() {}, resume() {}, paused: false, aborted: false, reason: null };
    const dispatcher = {
      dispatch(_options: unknown, handler: Dispatcher.DispatchHandler) {
        setImmediate(() => {
          handler.onRequestStart?.(controller, {});
          handler.onResponseStart?.(controller, 200, { 'content-type': 'text/event-stream' }, 'OK');
          setImmediate(() => handler.onResponseError?.(controller, revokedProxy() as Error));
        });
        return true;
      },
    };
    const records: string[] = [];
    const { byokit } = await testByokit({
      environment: { ANTHROPIC_API_KEY: fakeProviderKey('anthropic') },
      providers: { anthropic: { baseUrl: BASE_URL, retries: 0, dispatcher } },
      onUsage: (record) => void records.push(record.status),
    });
    const failure = await (async () => {
      for await (const _chunk of byokit.chatStream(alice, request));
    })().catch((error: unknown) => error);
    expect(isByokitError(failure) && failure.code).toBe('provider_unavailable');
    await byokit.close();
    expect(records).toEqual(['error']);
  });
});

// A client that leaves while the host's authenticate is still answering (a session looked up in a database): the
// request is gone before byokit reads a byte of its body. Whatever the client had sent by then (no body, part of it,
// all of it), the call must end: byokit's handle settles, so that the host's `await` of the adapter does; no provider
// call is made and no usage recorded for an answer no one will read; nothing is logged as a failure, which any client
// could multiply; and the server answers its next request. The Node handler once waited for ever for the rest of a
// body whose request had closed while authenticate was answering (docs/http-api.md, "Client disconnects").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Byokit } from '../../byokit.js';
import { headerValue, requestIdOf } from '../../http/headers.js';
import type { Cancellation } from '../../http/request-abort.js';
import type { Principal, RequestHeaders } from '../../http/types.js';
import { fakeProviderKey } from '../../keys/fake-keys.js';
import { sendChatHead, setKeysThroughCore } from './exchange.js';
import { ANTHROPIC_MODEL } from './scenarios.js';
import type { MountAdapter, MountedAdapter } from './types.js';
import { authenticate, authorizationOf, PRINCIPALS, randomKeyring, startSide, type Side } from './world.js';

/** How much of its body the client had sent when it left. */
const MOMENTS = [
  { moment: 'before any byte of its body', sentBytes: (body: string) => body.slice(0, 0) },
  { moment: 'halfway through its body', sentBytes: (body: string) => body.slice(0, 20) },
  { moment: 'with its whole body sent', sentBytes: (body: string) => body },
] as const;

/** A call byokit was handed: its signal (aborted once the adapter saw the client leave), and whether it settled. */
interface HandledCall {
  signal: Cancellation | undefined;
  settled: boolean;
}

/** The host's authenticate held back for one request: called when it was reached, answering once let in. */
interface HeldBack {
  requestId: string;
  reached: boolean;
  letIn(): void;
}

export function describeLeavingWhileAuthenticating(mount: MountAdapter, prefix: string): void {
  describe("a client that leaves while the host's authenticate is still answering: the call ends", () => {
    let side: Side;
    let adapter: MountedAdapter;
    const calls = new Map<string, HandledCall>();
    let heldBack: HeldBack | undefined;

    /** The suite's auth, but for the held-back request: its answer waits until the test lets it in. */
    const slowAuthenticate = (headers: RequestHeaders): Principal | null | Promise<Principal | null> => {
      const held = heldBack;
      if (held === undefined || headerValue(headers, 'x-request-id') !== held.requestId) return authenticate(headers);
      held.reached = true;
      return new Promise<void>((resolve) => (held.letIn = resolve)).then(() => authenticate(headers));
    };

    beforeAll(async () => {
      side = await startSide({ keyring: randomKeyring(), environment: {}, prefix });
      // byokit as the mount gets it, but for handle, which tells the suite when each call began and settled.
      const observed: Byokit = {
        ...side.byokit,
        handle: (request) => {
          const call: HandledCall = { signal: request.signal, settled: false };
          calls.set(requestIdOf(request.headers), call);
          const answer = side.byokit.handle(request);
          const settled = () => void (call.settled = true);
          answer.then(settled, settled);
          return answer;
        },
      };
      adapter = await mount({ byokit: observed, authenticate: slowAuthenticate, prefix });
      const keys = { anthropic_api_key: fakeProviderKey('anthropic') };
      if ((await setKeysThroughCore(side.byokit, prefix, 'user', '/users/me/api-key', keys)) !== 200) {
        throw new Error("the conformance set-up could not save the user's keys");
      }
    });
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    const usageOf = async (requestId: string) =>
      (await side.byokit.usage.events(PRINCIPALS.user.userId)).records.find((record) => record.requestId === requestId);
    /** Lines at warn or error level, byokit's as JSON and the host's (pino's levels are numbers: 40 is warn). */
    const isFailure = (line: string) => {
      const level = (JSON.parse(line) as { level?: unknown }).level;
      return level === 'warn' || level === 'error' || (typeof level === 'number' && level >= 40);
    };

    for (const [index, { moment, sentBytes }] of MOMENTS.entries()) {
      it(`POST /llm/chat/completions, left ${moment}: byokit's call settles, no provider call, no usage, nothing logged as a failure`, async () => {
        side.mock.reset();
        const byokitLinesBefore = side.logLines.length;
        const hostLinesBefore = adapter.logLines?.().length ?? 0;
        const requestId = `conformance-leaves-while-authenticating-${index}`;
        heldBack = { requestId, reached: false, letIn: () => {} };
        const body = JSON.stringify({ model_id: ANTHROPIC_MODEL.id, messages: [{ role: 'user', content: 'Hello!' }] });
        const socket = sendChatHead(adapter.baseUrl, prefix, requestId, body, sentBytes(body));
        try {
          await expect.poll(() => heldBack?.reached, { timeout: 5_000 }).toBe(true);
          socket.destroy();
          // The adapter saw the client leave (it aborted the request's signal) while authenticate was still answering.
          await expect.poll(() => calls.get(requestId)?.signal?.aborted, { timeout: 5_000 }).toBe(true);
        } finally {
          heldBack.letIn();
        }
        // Liveness, not speed: the call must end at all; a bound only so that a hang fails here rather than time out.
        await expect.poll(() => calls.get(requestId)?.settled, { timeout: 5_000 }).toBe(true);
        expect(side.mock.requests).toHaveLength(0);
        const next = await fetch(`${adapter.baseUrl}${prefix}/llm/chat/completions`, {
          method: 'POST',
          headers: { ...authorizationOf('user'), 'content-type': 'application/json', 'x-request-id': `${requestId}-next` },
          body,
        });
        expect(next.status).toBe(200);
        // Records are written in the order they are made: once the next call's is in, any of the first call's would be.
        await expect.poll(() => usageOf(`${requestId}-next`), { timeout: 5_000 }).toBeDefined();
        expect(await usageOf(requestId)).toBeUndefined();
        expect(side.logLines.slice(byokitLinesBefore).filter(isFailure)).toEqual([]);
        expect((adapter.logLines?.() ?? []).slice(hostLinesBefore).filter(isFailure)).toEqual([]);
      }, 30_000);
    }
  });
}

import { describe } from 'vitest';
import { describeAuthorisationMatrix } from './adapter-conformance/authorisation-matrix.js';
import { describeClientDisconnect } from './adapter-conformance/client-disconnect.js';
import { describeLeavingWhileAuthenticating } from './adapter-conformance/leave-while-authenticating.js';
import { describeLongSilences } from './adapter-conformance/long-silences.js';
import { describeLeakCheck } from './adapter-conformance/leak-check.js';
import { describeRefusedBodies } from './adapter-conformance/refused-bodies.js';
import { describeRequestTargets } from './adapter-conformance/request-targets.js';
import { describeSameAnswers } from './adapter-conformance/same-answers.js';
import { describeSeededRequests } from './adapter-conformance/seeded-requests.js';
import { describeSlowReaders } from './adapter-conformance/slow-readers.js';
import type { AdapterConformanceOptions, MountAdapter } from './adapter-conformance/types.js';

export { HOST_ANSWER_HEADER } from './adapter-conformance/types.js';
export { listenOnLoopback } from './adapter-conformance/listen.js';
export type { AdapterConformanceOptions, ConformanceMountOptions, MountAdapter, MountedAdapter } from './adapter-conformance/types.js';

/** The mount prefix the suite uses: the contract's default. */
const PREFIX = '/v2';

/**
 * The behaviour every adapter must have, as a vitest suite (issue 6; spec/http-api.md: "the contract every
 * adapter mounts, byte for byte the same"). Run it from a test file of your adapter with a function that
 * mounts a byokit in your framework on a real server:
 *
 * ```ts
 * import { createServer } from 'node:http';
 * import express from 'express';
 * import { byokitRouter } from '@byokit/adapter-express';
 * import { describeAdapterConformance, HOST_ANSWER_HEADER, listenOnLoopback } from '@byokit/core/testing';
 *
 * describeAdapterConformance('Express', async ({ byokit, authenticate, prefix }) => {
 *   const app = express();
 *   app.use(prefix, byokitRouter(byokit, { authenticate: (request) => authenticate(request.headers) }));
 *   app.use((_request, response) => void response.status(404).set(HOST_ANSWER_HEADER, 'yes').end());
 *   return listenOnLoopback(createServer(app));
 * }, { unknownPaths: 'host' });
 * ```
 *
 * It checks, over real HTTP:
 * - every route of the contract (read from `GET /openapi.json`, so a new route without a scenario fails), with
 *   its success and error paths, answers with the same status, contract headers and body as core itself;
 * - streamed answers arrive chunk by chunk; a client that goes away, mid-stream or before the answer began,
 *   aborts the provider call;
 * - a client that leaves while the host's `authenticate` is still answering (before any byte of its body, halfway
 *   through it, or with all of it sent) ends the call: byokit's handling settles, no provider call is made, no usage
 *   is recorded, nothing is logged as a failure, and the next request is answered;
 * - a stream whose provider is silent (a model thinking) gets its head and `: keep-alive` comments through the
 *   mount as they are written, before the provider's first event and between events;
 * - a client that reads a long stream slowly holds the provider back: while it reads nothing, the provider can
 *   write no more than the sockets' buffers take (the mount waits on the socket, byokit stops reading upstream), no
 *   keep-alive comment piles up, and read on, the answer arrives whole and is recorded once; left unread, the
 *   provider call is aborted and recorded as aborted, and so it is for a client that stops reading for the provider's
 *   timeout, its connection left open;
 * - requests byokit has no route for go to the host, or get the contract's 404, as `options.unknownPaths` says;
 * - a request target in absolute form (`GET http://host/v2/llm-models HTTP/1.1`, which a server must accept) is
 *   answered as its path and query in origin form are, or left as above when it is not byokit's;
 * - who may do what: every route × {anonymous, user, other user, admin}, storage unchanged after each refusal;
 * - no provider key, nor any 8-character piece of one, in any answer or log line;
 * - 250 seeded hostile requests (scenarios with their method, path, query, media type, content coding, caller or body changed)
 *   sent as written, each answered as core answers it, none with a 5xx but a provider's failure, no key leaked.
 *   Where a framework differs before byokit sees the request, say so in `options` (`urls`, `refusedByServer`).
 */
export function describeAdapterConformance(name: string, mount: MountAdapter, options: AdapterConformanceOptions): void {
  describe(`adapter conformance: ${name}`, () => {
    describeSameAnswers(mount, { ...options, prefix: PREFIX });
    describeClientDisconnect(mount, PREFIX);
    describeLeavingWhileAuthenticating(mount, PREFIX);
    describeLongSilences(mount, PREFIX);
    describeSlowReaders(mount, PREFIX);
    describeRefusedBodies(mount, PREFIX);
    describeAuthorisationMatrix(mount, PREFIX);
    describeLeakCheck(mount, PREFIX);
    describeSeededRequests(mount, { ...options, prefix: PREFIX });
    describeRequestTargets(mount, { ...options, prefix: PREFIX });
  });
}

// Helpers for this package's tests (not built: tsup builds only the entries it names).
import type { Byokit, Principal } from '@byokit/core';

/** Calls byokit's framework-free handler as an adapter would, as `principal`; the answer must be whole (not streamed). */
export async function callAs(principal: Principal, byokit: Byokit, method: string, url: string, body?: unknown) {
  const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
  const response = await byokit.handle({
    method,
    url,
    headers: bytes ? { 'content-type': 'application/json' } : {},
    body: bytes ? { kind: 'stream', stream: [bytes] } : { kind: 'none' },
    authenticate: () => principal,
  });
  if (!response || typeof response.body !== 'string') throw new Error(`byokit gave no complete response to ${method} ${url}`);
  return { status: response.status, headers: response.headers, text: response.body, json: JSON.parse(response.body) };
}

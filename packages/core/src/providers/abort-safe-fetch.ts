/**
 * The fetch ky calls, made safe to abort. ky always hands fetch a `Request` object, and on Node 20 an abort
 * no longer reaches a fetch made from a `Request` once that object has been garbage-collected
 * (nodejs/node#55428): a client that went away would leave the upstream stream running, on someone's key.
 * So the call is re-made from the request's URL and parts, with a signal this closure holds for as long as the
 * call lives, following both the caller's signal and ky's own (its timeout).
 */
export function abortSafeFetch(base: typeof fetch, callerSignal: AbortSignal | undefined): typeof fetch {
  return async (input, init) => {
    if (!(input instanceof Request)) return base(input, init);
    const controller = new AbortController();
    const follow = (signal: AbortSignal) => {
      if (signal.aborted) controller.abort(signal.reason);
      else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
    };
    if (callerSignal) follow(callerSignal);
    follow(input.signal);
    // The body as bytes: a known length (Content-Length, not chunked), and no stream to tee.
    const body = input.method === 'GET' || input.method === 'HEAD' ? undefined : await input.arrayBuffer();
    return base(input.url, { method: input.method, headers: input.headers, body, redirect: input.redirect, signal: controller.signal });
  };
}

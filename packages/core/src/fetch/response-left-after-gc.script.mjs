// Run by response-left-after-gc.test.ts as `node --expose-gc`: asks byokit.fetch for a streamed chat, lets go of the
// Response without reading or cancelling its body (a host's middleware that answered meanwhile: Hono's timeout), its
// request's signal never aborted, collects garbage, and prints whether the (mock) provider saw the upstream request
// aborted, whether byokit.close() then resolved, and the call's usage record. Uses the built package.
import { LEFT_CHAT, reportCallLeftAfterGc } from '../call-left-after-gc.mjs';

await reportCallLeftAfterGc(
  async (byokit) => {
    const response = await byokit.fetch(
      new Request('http://host.test/v2/llm/chat/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...LEFT_CHAT, stream: true }),
      }),
    );
    return { status: response.status };
  },
  { fetchHandler: { authenticate: () => ({ userId: 'left', isAdmin: false }) } },
);

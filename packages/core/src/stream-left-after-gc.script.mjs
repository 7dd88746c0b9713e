// Run by stream-left-after-gc.test.ts as `node --expose-gc`: reads the first chunk of a stream in code, lets go of
// its iterator without `break` or `return()`, collects garbage, and prints whether the (mock) provider saw the
// upstream request aborted, whether byokit.close() then resolved, and the call's usage record. Uses the built package.
import { LEFT_CHAT, reportCallLeftAfterGc } from './call-left-after-gc.mjs';

await reportCallLeftAfterGc(async (byokit) => {
  const iterator = byokit.chatStream({ userId: 'left' }, LEFT_CHAT)[Symbol.asyncIterator]();
  await iterator.next();
  return {};
});

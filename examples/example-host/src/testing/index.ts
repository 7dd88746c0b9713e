/**
 * @byokit/example-host/testing: the tests every example server passes, each a `describe…(example)` to call
 * from that server's own test files, and the harness that starts a server for them. Needs vitest.
 */
export type { ExampleServer } from './example-server.js';
export { ADMIN_EMAIL, ADMIN_PASSWORD, startTestServer } from './test-server.js';
export { describeAuthorisationMatrix } from './authorisation-suite.js';
export { describeGuideFlow } from './guide-flow-suite.js';
export { describeGuidePages } from './pages-suite.js';
export { describeLeakCheck } from './leak-check-suite.js';
export { describeRestart } from './restart-suite.js';
export { describeServerStart } from './server-start-suite.js';
export { describeStop } from './stop-suite.js';
export { describeStreaming } from './streaming-suite.js';

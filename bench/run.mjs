// npm run bench: every benchmark of the project, each printing its figures as ratios to a floor measured
// in the same run. Figures from a shared machine vary between runs; the ratios are what we hold goals to.
import { runChat } from './chat/index.mjs';
import { runKeyPath } from './key-path.mjs';
import { runMetering } from './metering.mjs';
import { runRateLimiter } from './rate-limiter.mjs';
import { runStoragePostgres } from './storage-postgres.mjs';

console.log(`byokit bench: node ${process.version}, ${new Date().toISOString()}`);
const keyPath = await runKeyPath();
await runRateLimiter();
await runStoragePostgres();
await runChat({ keyResolutionMicros: keyPath.cachedMicros });
await runMetering();

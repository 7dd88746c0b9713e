import { describeAsInstalled } from '../../../scripts/packaging-suite.js';

describeAsInstalled(import.meta.url, {
  '@byokit/adapter-express': ['byokitRouter', 'type ByokitRouterOptions'],
});

import { describeGuideFlow } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeGuideFlow(expressExample);

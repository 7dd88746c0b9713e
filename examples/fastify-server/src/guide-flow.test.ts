import { describeGuideFlow } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeGuideFlow(fastifyExample);

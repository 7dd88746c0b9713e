import { describeLeakCheck } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeLeakCheck(fastifyExample);

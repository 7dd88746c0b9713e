import { describeRestart } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeRestart(fastifyExample);

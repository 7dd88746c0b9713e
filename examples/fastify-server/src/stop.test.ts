import { describeStop } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeStop(fastifyExample);

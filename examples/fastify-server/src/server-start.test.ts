import { describeServerStart } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeServerStart(fastifyExample);

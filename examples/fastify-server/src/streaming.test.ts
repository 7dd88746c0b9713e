import { describeStreaming } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeStreaming(fastifyExample);

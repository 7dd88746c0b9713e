import { describeAuthorisationMatrix } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeAuthorisationMatrix(fastifyExample);

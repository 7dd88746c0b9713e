import { describeAuthorisationMatrix } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeAuthorisationMatrix(expressExample);

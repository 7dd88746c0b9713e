import { describeStop } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeStop(expressExample);

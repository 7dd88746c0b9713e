import { describeRestart } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeRestart(expressExample);

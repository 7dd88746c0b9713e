import { describeLeakCheck } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeLeakCheck(expressExample);

import { describeServerStart } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeServerStart(expressExample);

import { describeStreaming } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeStreaming(expressExample);

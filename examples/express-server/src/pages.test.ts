import { describeGuidePages } from '@byokit/example-host/testing';
import { expressExample } from './test-server.js';

describeGuidePages(expressExample);

import { describeGuidePages } from '@byokit/example-host/testing';
import { fastifyExample } from './test-server.js';

describeGuidePages(fastifyExample);

import { describeStorageConformance } from '../testing/storage-conformance.js';
import { memoryStorage } from './memory-storage.js';

describeStorageConformance('memory', { createStorage: async () => memoryStorage() });

import { runExampleServer } from '@byokit/example-host';
import { listen } from './app.js';

await runExampleServer(listen);

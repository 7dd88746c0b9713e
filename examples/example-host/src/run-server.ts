import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import pino, { type Logger } from 'pino';
import { configFromEnvironment, type ServerConfig } from './config.js';

/** An example server listening: the port it got, and how to stop it (the server first, then byokit). */
export interface ListeningServer {
  port: number;
  stop(): Promise<void>;
}

/** What each example server provides: start its app with this configuration and listen on `config.port`. */
export type Listen = (config: ServerConfig, logger: Logger) => Promise<ListeningServer>;

/**
 * `npm start` for an example server: reads the environment, starts it, says where it listens, and stops it
 * cleanly on SIGINT or SIGTERM. A start-up refusal (a bad keyring, say) is shown by its message, not a stack.
 */
export async function runExampleServer(listen: Listen): Promise<void> {
  // A bad variable (PORT=abc, LOG_LEVEL=loud) is refused as every other start-up refusal is: one fatal line, exit 1.
  // Thrown out of this function instead, it reached Node as an unhandled rejection: a stack trace, the
  // throwing source line and all, on the terminal of someone who only mistyped a value.
  let config: ServerConfig;
  let dotEnv: DotEnv | undefined;
  try {
    dotEnv = loadDotEnv();
    config = configFromEnvironment();
  } catch (error) {
    pino().fatal(error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
  const logger = pino({ level: config.logLevel });
  if (dotEnv) logger.info({ path: dotEnv.path, variables: dotEnv.variables }, `read ${dotEnv.path}`);
  if (dotEnv?.unread) {
    const entries = dotEnv.unread === 1 ? '1 entry not read' : `${dotEnv.unread} entries not read`;
    logger.warn(
      `${dotEnv.path}: ${entries}: a line without "=", such as "NAME: value", or a name not of letters, digits and _ (write NAME=value)`,
    );
  }
  try {
    const { port, stop } = await listen(config, logger);
    logger.info(
      { port },
      `byokit example server listening on http://localhost:${port}/v2 (the guide's pages: http://localhost:${port}/profile)`,
    );
    const shutdown = () => void stop().then(() => process.exit(0));
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  } catch (error) {
    logger.fatal({ code: (error as { code?: string }).code }, error instanceof Error ? error.message : String(error));
    process.exit(1);
  }
}

/** The `.env` file a start read: where, and the names of the variables it set (never their values). */
export interface DotEnv {
  path: string;
  variables: string[];
  /** How many entries had a name that is no variable's (never quoted: such a name may hold a key). */
  unread: number;
}

/**
 * The guide's `.env` route for system keys ("Configured by admins via REST API or `.env` file"): a `.env` file in
 * the folder `npm start` was typed in (INIT_CWD; npm runs the script in the workspace's folder), else the current
 * one, is read into the environment before anything else, with Node's own parser (`util.parseEnv`, that of
 * `process.loadEnvFile`), a byte order mark at its start left out. A
 * variable already set in the environment wins over the file's. No file: nothing read.
 */
export function loadDotEnv(): DotEnv | undefined {
  const path = resolve(process.env.INIT_CWD ?? '.', '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ENOENT') return undefined;
    // Node's loadEnvFile said of a folder only "Contents of '…' should be a valid string".
    const reason = code === 'EISDIR' ? 'it is a folder, not a file.' : error instanceof Error ? error.message : String(error);
    throw new Error(`Could not read ${path}: ${reason}`);
  }
  // A file saved with a byte order mark (Windows Notepad's "UTF-8 with BOM"): Node's reader took the mark for part of
  // the first name, so `ANTHROPIC_API_KEY=…` on the first line set "\uFEFFANTHROPIC_API_KEY", logged as if taken.
  const { assignments, unassigned } = splitUnassignedLines(text.replace(/^\uFEFF/, ''));
  const parsed = parseEnv(assignments);
  // A name Node's parser gives that no shell would (`FOO BAR=1`) is neither set nor logged, only counted: it may hold
  // a piece of a key.
  const names = Object.keys(parsed);
  const valid = names.filter((name) => VARIABLE_NAME.test(name));
  const variables = valid.filter((name) => !Object.hasOwn(process.env, name));
  for (const name of variables) process.env[name] = parsed[name];
  return { path, variables, unread: unassigned + names.length - valid.length };
}

/**
 * Takes out the lines that assign nothing (no "=", outside a quoted value running over several lines), counting
 * them. Node's parser differs there by version: Node 20 took all before the next "=" for one name, across lines
 * (`ANTHROPIC_API_KEY: sk-ant-…` then `OPENAI_API_KEY=…` gave one variable with the key in its name, the OpenAI key
 * lost with it), Node 22 and later skip such a line unsaid. Taken out first, every Node reads the rest alike.
 */
function splitUnassignedLines(text: string): { assignments: string; unassigned: number } {
  const kept: string[] = [];
  let unassigned = 0;
  let openQuote: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (openQuote) {
      if (line.includes(openQuote)) openQuote = undefined;
    } else if (line.includes('=')) {
      const value = line.slice(line.indexOf('=') + 1).trimStart();
      const quote = value[0];
      if ((quote === '"' || quote === "'" || quote === '`') && !value.slice(1).includes(quote)) openQuote = quote;
    } else if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
      unassigned++;
      continue;
    }
    kept.push(line);
  }
  return { assignments: kept.join('\n'), unassigned };
}

/** A name a shell would take for a variable: letters, digits and `_`, not starting with a digit. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A slow or stalled request is cut off rather than holding a socket (spec/security.md, hostile inputs). */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How long a client may take to send its request headers. */
export const HEADERS_TIMEOUT_MS = 10_000;

// An answer as the suite compares it: the status, the contract's headers, and the body, with what is random on
// every call (and only that) replaced by a placeholder.
import { BUILT_IN_MODELS } from '../../catalog/built-in-models.js';
import type { Answer } from './exchange.js';

/**
 * The headers the contract speaks of (spec/http-api.md), compared byte for byte, present or absent alike, with
 * every other header byokit answers with and every `x-byok-*` header on the wire. The rest (date, connection,
 * content-length, transfer-encoding, keep-alive…) are each server's own and may differ.
 */
const CONTRACT_HEADERS: readonly string[] = [
  'content-type',
  'cache-control',
  'x-content-type-options',
  'x-request-id',
  'retry-after',
  'allow',
  'www-authenticate',
  'x-accel-buffering',
];

const isContractHeader = (name: string) => CONTRACT_HEADERS.includes(name) || name.startsWith('x-byok-');

/** The headers to compare for one request: the contract's, and any other that either answer carries. */
export function comparedHeaderNames(reference: Answer, wire: Answer): string[] {
  const names = new Set(CONTRACT_HEADERS);
  for (const name of Object.keys(reference.headers)) names.add(name.toLowerCase());
  for (const name of Object.keys(wire.headers)) if (isContractHeader(name)) names.add(name);
  return [...names].sort();
}

const BUILT_IN_IDS = new Set(BUILT_IN_MODELS.map((model) => model.id));

/**
 * What byokit makes anew on every call, so two byokits fed the same requests still differ in it:
 * - chat completion ids (`chatcmpl-` + a random UUID's hex);
 * - UUIDs byokit generates (usage record ids, the id of a model an admin adds, the request id that replaces an
 *   insane one); the built-in catalog's ids are fixed and stay;
 * - `latency_ms` of a usage record, a measured duration.
 * Ids are numbered in order of first appearance, so the same id twice stays the same placeholder twice.
 */
const RANDOM = [/chatcmpl-[A-Za-z0-9]+/g, /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, /"latency_ms":\d+/g] as const;

/** Replaces the random parts of one answer's texts; one instance per answer, so its numbering is the answer's own. */
class Masker {
  readonly #seen = new Map<string, string>();

  mask(text: string): string {
    let masked = text;
    for (const pattern of RANDOM) {
      masked = masked.replace(pattern, (found) => {
        if (BUILT_IN_IDS.has(found)) return found;
        if (found.startsWith('"latency_ms"')) return '"latency_ms":"(measured)"';
        let placeholder = this.#seen.get(found);
        if (placeholder === undefined) this.#seen.set(found, (placeholder = `(random ${this.#seen.size + 1})`));
        return placeholder;
      });
    }
    return masked;
  }
}

/** One answer as compared: status, the named headers (null when absent), the whole body; random parts masked. */
export function comparable(answer: Answer, headerNames: readonly string[]) {
  const masker = new Masker();
  const headers = Object.fromEntries(headerNames.map((name) => [name, name in answer.headers ? masker.mask(answer.headers[name]!) : null]));
  return { status: answer.status, headers, body: masker.mask(answer.pieces.join('')) };
}

/**
 * The canary harness of spec/security.md ("Secrets never leave"): given the fake keys a test used and
 * everything it captured (response bodies and headers, log lines, serialised errors, stored columns), finds
 * any key, or any 8-character piece of one, in plain, base64, URL-encoded or JSON-escaped form. The hint
 * (the last four characters) is allowed: no 8-character piece fits inside it; so is the format every key of a
 * provider shares (its prefix, OpenAI's marker), which error messages name.
 */

/** One place a key showed up. */
export interface KeyLeak {
  /** Which captured text, by the label it was given. */
  where: string;
  /** Which form of the key was found. */
  form: 'plain' | 'base64' | 'url-encoded' | 'json-escaped';
  /** The offset of the piece within the key. */
  offset: number;
}

const PIECE = 8;

function pieces(text: string, length: number): Array<[string, number]> {
  const result: Array<[string, number]> = [];
  for (let offset = 0; offset + length <= text.length; offset++) result.push([text.slice(offset, offset + length), offset]);
  return result;
}

const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

/**
 * What every key of a format holds, so that an error message may name it ("Anthropic API keys start with
 * sk-ant-api03-"): the prefix, and OpenAI's `T3BlbkFJ` marker (spec/security.md, "Key formats").
 */
const PUBLIC_PREFIX = /^(sk-ant-api03-|sk-ant-admin01-|sk-(proj|svcacct|admin)-|sk-|AIza)/;
const PUBLIC_MARKER = 'T3BlbkFJ';

/** For one key: whether its characters from `start` (inclusive) to `end` (exclusive) are all of its public format. */
function publicFormatOf(key: string): (start: number, end: number) => boolean {
  const prefixEnd = PUBLIC_PREFIX.exec(key)?.[0].length ?? 0;
  const marker = key.indexOf(PUBLIC_MARKER, prefixEnd);
  return (start, end) => end <= prefixEnd || (marker >= 0 && start >= marker && end <= marker + PUBLIC_MARKER.length);
}

/** Every piece to look for: each form of each 8-character window of the key that holds some of its secret part. */
function needles(key: string): Array<{ needle: string; form: KeyLeak['form']; offset: number }> {
  const found: Array<{ needle: string; form: KeyLeak['form']; offset: number }> = [];
  const publicOnly = publicFormatOf(key);
  for (const [piece, offset] of pieces(key, PIECE)) {
    if (publicOnly(offset, offset + PIECE)) continue;
    found.push({ needle: piece, form: 'plain', offset });
    const urlEncoded = encodeURIComponent(piece);
    if (urlEncoded !== piece) found.push({ needle: urlEncoded, form: 'url-encoded', offset });
    const jsonEscaped = JSON.stringify(piece).slice(1, -1);
    if (jsonEscaped !== piece) found.push({ needle: jsonEscaped, form: 'json-escaped', offset });
  }
  // base64 aligns on 3-byte groups: encode from each of three starting offsets and look for the inner
  // 12 characters (9 bytes) of every window, which are the same wherever the key sits in a longer text.
  for (let shift = 0; shift < 3; shift++) {
    const encoded = base64(key.slice(shift));
    for (let offset = 0; offset + 12 <= encoded.length - 4; offset += 4) {
      const start = shift + (offset / 4) * 3;
      if (publicOnly(start, start + 9)) continue;
      found.push({ needle: encoded.slice(offset, offset + 12), form: 'base64', offset: shift + (offset / 4) * 3 });
    }
  }
  return found;
}

/**
 * Looks for the keys in the captured texts.
 *
 * @param keys - The fake keys the test used.
 * @param captured - Labelled texts: `[['PATCH /users/me/api-key response body', text], …]`.
 * @returns Every leak found; empty when none.
 */
export function findKeyLeaks(keys: readonly string[], captured: Iterable<readonly [string, string]>): KeyLeak[] {
  const searches = keys.flatMap(needles);
  const leaks: KeyLeak[] = [];
  for (const [where, text] of captured) {
    for (const { needle, form, offset } of searches) {
      if (text.includes(needle)) leaks.push({ where, form, offset });
    }
  }
  return leaks;
}

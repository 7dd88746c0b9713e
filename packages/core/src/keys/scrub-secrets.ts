const REDACTED = '[redacted]';

/**
 * What looks like a key in free text, in the order applied. Masked echoes go first so that a partly masked
 * key is removed whole rather than leaving its masked tail. The lookbehinds keep words such as `task-list`
 * intact and let each run of key characters be scanned from its start only (linear time on hostile text).
 */
const KEY_PATTERNS: readonly RegExp[] = [
  // A provider's masked echo of a key, e.g. "Incorrect API key provided: sk-proj-****abcd".
  /(?<![A-Za-z0-9_-])(?:sk-|AIza)[A-Za-z0-9_-]*(?:[*•…]|\.{2,})(?:[A-Za-z0-9_*•…-]|\.{2,})*/g,
  /(?<![A-Za-z0-9])sk-ant-[A-Za-z0-9_-]{8,}/g,
  /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/g,
  /(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{16,}/g,
];

/** Credentials after a label: `Bearer x`, `x-api-key: x`, `"api_key": "x"`, `?key=x`. The label is kept. */
const LABELLED_PATTERNS: readonly RegExp[] = [
  /\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /((?:x-goog-api-key|x-api-key|api[_-]?key|[?&]key)["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi,
];

/** base64("OpenAI"): inside every OpenAI key (gitleaks); built at run time so no source line looks like a key. */
const OPENAI_MARKER = btoa('OpenAI');

function isKeyCharacter(code: number): boolean {
  return (
    (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x2d || code === 0x5f
  );
}

/** Removes any run of key characters around the OpenAI marker, even when the `sk-` prefix was cut off. */
function scrubOpenAiMarker(text: string): string {
  let result = '';
  let from = 0;
  for (let at = text.indexOf(OPENAI_MARKER); at >= 0; at = text.indexOf(OPENAI_MARKER, from)) {
    let start = at;
    while (start > from && isKeyCharacter(text.charCodeAt(start - 1))) start--;
    let end = at + OPENAI_MARKER.length;
    while (end < text.length && isKeyCharacter(text.charCodeAt(end))) end++;
    result += text.slice(from, start) + REDACTED;
    from = end;
  }
  return result + text.slice(from);
}

/**
 * Replaces anything in `text` that looks like a provider key with `[redacted]`: the provider formats, the loose
 * prefixes `sk-ant-`, `sk-` and `AIza` followed by key characters, masked echoes such as `sk-proj-****abcd`,
 * and the value of `Bearer`, `x-api-key`, `x-goog-api-key`, `api_key` and `?key=` (label kept). For upstream
 * error text and log lines, since providers echo partial keys in 401 messages (spec/security.md, "Secrets
 * never leave"). Runs in linear time, so it is safe on large hostile text.
 */
export function scrubSecrets(text: string): string {
  let result = scrubOpenAiMarker(text);
  for (const pattern of KEY_PATTERNS) result = result.replace(pattern, REDACTED);
  for (const pattern of LABELLED_PATTERNS) result = result.replace(pattern, `$1${REDACTED}`);
  return result;
}

import { isKeyCharacter, scrubSecrets } from '../keys/scrub-secrets.js';
import { wholeCharacterEnd } from '../whole-characters.js';

/** The most of a provider's own words an error repeats. */
export const MAX_UPSTREAM_TEXT = 300;

/**
 * A provider's own words (an error's message), safe to repeat: anything that looks like a key scrubbed
 * (providers echo keys: spec/security.md, "Secrets never leave"), then cut to {@link MAX_UPSTREAM_TEXT}
 * characters. Scrubbed first, as clipping first could cut a key so that no pattern knows it. The cut never
 * splits a run of key characters but drops the run, so that what is left of a key the patterns missed is whole
 * for the chat service's scrub of the key the call was made with (`scrubKnownSecret`, 8-character pieces), nor
 * a character: an emoji is kept or dropped whole.
 */
export function upstreamText(text: string): string {
  const scrubbed = scrubSecrets(text);
  if (scrubbed.length <= MAX_UPSTREAM_TEXT) return scrubbed;
  let end = MAX_UPSTREAM_TEXT;
  while (end > 0 && isKeyCharacter(scrubbed.charCodeAt(end - 1)) && isKeyCharacter(scrubbed.charCodeAt(end))) end--;
  return `${scrubbed.slice(0, wholeCharacterEnd(scrubbed, end))}…`;
}

/**
 * A provider's words as the end of byokit's sentence about its answer: `: <words>`, closed with a period unless they
 * close themselves, or the period alone when it said nothing (a proxy's page). "The Anthropic API failed (HTTP 500)"
 * and its "Internal server error" ended without one.
 */
export function upstreamDetail(message: string | undefined): string {
  if (message === undefined || message === '') return '.';
  const text = upstreamText(message);
  return /[.!?…]$/.test(text) ? `: ${text}` : `: ${text}.`;
}

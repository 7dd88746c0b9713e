/**
 * Reads a body's bytes up to `limitBytes`. Resolves undefined as soon as there are more: it stops reading
 * there (leaving a `for await` cancels a stream), so a flood is never buffered whole.
 */
export async function readAtMost(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limitBytes: number,
): Promise<Uint8Array | undefined> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limitBytes) return undefined;
    chunks.push(chunk);
  }
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

/** The text's length in UTF-8 bytes, without encoding it (works wherever byokit runs, Buffer or not). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    // A surrogate pair is 2 UTF-16 units and 4 bytes; a lone surrogate is sent as U+FFFD, 3 bytes.
    else if (code >= 0xd800 && code <= 0xdbff && index + 1 < text.length && (text.charCodeAt(index + 1) & 0xfc00) === 0xdc00) {
      bytes += 2;
      index++;
    } else bytes += 2;
  }
  return bytes;
}

/** Decodes as `response.text()` would (UTF-8, a byte order mark dropped); stateless, so shared. */
const utf8 = new TextDecoder();

/** Bytes as JSON, or undefined when they are not JSON (a provider's refusal may be anything). */
export function jsonOrUndefined(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
}

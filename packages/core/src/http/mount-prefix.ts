/**
 * A mount prefix as the adapters compare it: no trailing slash, `''` for the root (`'/v2/'` → `'/v2'`, `'/'` →
 * `''`), spelt as a client sends it (`'/café'` → `'/caf%C3%A9'`). Checked where a handler is made: a prefix without
 * its leading slash (`'v2'`) would match no request, and every route would quietly fall through to the host's 404.
 *
 * @throws TypeError for anything but `''` or a path from `/` without `?`, `#` or white space, in well-formed Unicode.
 */
export function normalisePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || (prefix !== '' && !/^\/[^?#\s]*$/.test(prefix))) {
    throw new TypeError(`prefix must be '' or a path from '/' without '?', '#' or spaces, got ${JSON.stringify(prefix)}`);
  }
  return escapedAsSent(prefix).replace(/\/+$/, '');
}

/** What a URL parser escapes in a path (WHATWG's path percent-encode set, and every character beyond ASCII). */
const SENT_ESCAPED = /[^\x21-\x7e]|["<>`{}]/gu;

/**
 * The prefix as a client sends it, each character that a URL parser (so every browser and fetch client) escapes in a
 * path escaped: `/café/v2` → `/caf%C3%A9/v2`. A request target holds them only so (Node refuses such bytes raw), and
 * the prefix is matched against the target as sent: written `/café/v2`, it matched no request on the Node and fetch
 * mounts, while Fastify and Hono route their own paths below it decoded.
 */
function escapedAsSent(prefix: string): string {
  try {
    return prefix.replace(SENT_ESCAPED, (character) => encodeURIComponent(character));
  } catch {
    throw new TypeError(`prefix must be well-formed Unicode, got ${JSON.stringify(prefix)}`);
  }
}

/**
 * The path and query below `prefix` (`/v2/llm-models/?all=true` → `/llm-models/?all=true`), or undefined when
 * the request is outside it (`/v2x/…`, `/elsewhere/v2/…`). `prefix` is normalised: see {@link normalisePrefix}. A
 * target in absolute form is taken by its path and query ({@link originForm}); one that is no path even so (`*`, an
 * absolute form naming a user) is below no prefix.
 */
export function belowPrefix(target: string, prefix: string): string | undefined {
  const url = originForm(target);
  if (!url.startsWith('/')) return undefined;
  if (prefix === '') return url;
  const next = url.charAt(prefix.length);
  if (!url.startsWith(prefix) || (next !== '' && next !== '/' && next !== '?')) return undefined;
  return next === '/' ? url.slice(prefix.length) : `/${url.slice(prefix.length)}`;
}

/** A scheme and authority (`http://api.example.com:8080`): what an absolute-form request target starts with. */
const SCHEME_AND_AUTHORITY = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/;

/**
 * A request target's path and query: `http://api.example.com/v2/llm-models?all=true` → `/v2/llm-models?all=true`,
 * anything else as it is. A server must accept a target in absolute form (RFC 9112 §3.2.2), which Node hands on as
 * `request.url` whole, as Express and Fastify do below their mount: byokit's routes were left to the host's 404 for
 * it, while the host's own routes answered it.
 *
 * One whose authority names a user (`http://user:secret@host/v2/…`) is left as it is, so that it is no path of byokit's:
 * RFC 9110 §4.2.4 asks a recipient to treat that as an error (it is likely there to pass one host off as another), a
 * fetch `Request` cannot be built from it, and the fetch handler on `@hono/node-server` answered it 500, the password in
 * the error line logged.
 */
export function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const origin = SCHEME_AND_AUTHORITY.exec(target);
  if (!origin || origin[1]!.includes('@')) return target;
  const rest = target.slice(origin[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

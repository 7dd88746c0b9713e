/**
 * A mount prefix as the adapters compare it: no trailing slash, `''` for the root (`'/v2/'` → `'/v2'`, `'/'` →
 * `''`). Checked where a handler is made: a prefix without its leading slash (`'v2'`) would match no request,
 * and every route would quietly fall through to the host's 404.
 *
 * @throws TypeError for anything but `''` or a path from `/` without `?`, `#` or white space.
 */
export function normalisePrefix(prefix: string): string {
  if (typeof prefix !== 'string' || (prefix !== '' && !/^\/[^?#\s]*$/.test(prefix))) {
    throw new TypeError(`prefix must be '' or a path from '/' without '?', '#' or spaces, got ${JSON.stringify(prefix)}`);
  }
  return prefix.replace(/\/+$/, '');
}

/**
 * The path and query below `prefix` (`/v2/llm-models/?all=true` → `/llm-models/?all=true`), or undefined when
 * the request is outside it (`/v2x/…`, `/elsewhere/v2/…`). `prefix` is normalised: see {@link normalisePrefix}.
 */
export function belowPrefix(url: string, prefix: string): string | undefined {
  if (prefix === '') return url;
  const next = url.charAt(prefix.length);
  if (!url.startsWith(prefix) || (next !== '' && next !== '/' && next !== '?')) return undefined;
  return next === '/' ? url.slice(prefix.length) : `/${url.slice(prefix.length)}`;
}

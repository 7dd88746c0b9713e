/** A mount prefix as the adapters compare it: no trailing slash, `''` for the root (`'/v2/'` → `'/v2'`, `'/'` → `''`). */
export function normalisePrefix(prefix: string): string {
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

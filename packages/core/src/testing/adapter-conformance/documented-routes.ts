// The routes of the contract, read from byokit's own OpenAPI document (`GET /openapi.json`, which lists every
// route, itself included): a route added to core without a scenario makes the suite fail, naming it.
import type { Byokit } from '../../byokit.js';

/** A route as `METHOD /template`, e.g. `GET /llm-models/{id}`. */
export type RouteName = string;

/** Every route the document lists, as `METHOD /template`. */
export async function documentedRoutes(byokit: Pick<Byokit, 'handle'>): Promise<RouteName[]> {
  const answer = await byokit.handle({
    method: 'GET',
    url: '/openapi.json',
    headers: {},
    body: { kind: 'none' },
    authenticate: () => null,
  });
  if (answer === undefined || typeof answer.body !== 'string') throw new Error('GET /openapi.json gave no document');
  const document = JSON.parse(answer.body) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(document.paths).flatMap(([template, operations]) =>
    Object.keys(operations).map((method) => `${method.toUpperCase()} ${template}`),
  );
}

/**
 * The route a request below the prefix is for, as the document names it; `undefined` for a path no route
 * has. A trailing slash and the query do not count; a `{parameter}` matches any one non-empty segment.
 */
function routeOf(routes: readonly RouteName[], method: string, path: string): RouteName | undefined {
  const bare = path.split('?')[0]!;
  const segments = (bare.length > 1 && bare.endsWith('/') ? bare.slice(0, -1) : bare).split('/');
  return routes.find((route) => {
    const [routeMethod, template] = route.split(' ') as [string, string];
    if (routeMethod !== method.toUpperCase()) return false;
    const parts = template.split('/');
    return (
      parts.length === segments.length &&
      parts.every((part, index) => (/^\{.+\}$/.test(part) ? segments[index] !== '' : part === segments[index]))
    );
  });
}

/** The routes of `routes` that no path in `covered` reaches. */
export function uncoveredRoutes(routes: readonly RouteName[], covered: Iterable<{ method: string; path: string }>): RouteName[] {
  const reached = new Set<RouteName>();
  for (const { method, path } of covered) {
    const route = routeOf(routes, method, path);
    if (route !== undefined) reached.add(route);
  }
  return routes.filter((route) => !reached.has(route));
}

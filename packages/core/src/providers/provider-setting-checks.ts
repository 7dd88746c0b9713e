/**
 * A provider's connection settings from the host, checked where its client is made, each with an error that names
 * the option: the base URL calls go to, and the headers sent with every call.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { isSettingsObject, kindOfOption } from '../host-option-checks.js';
import type { Provider } from '../keys/providers.js';
import { ACCEPT_ENCODING } from './compressed-answer.js';

/**
 * The host's base URL, an http(s) URL, read where the client is made. URL's own error ("Invalid URL") named no option: an unset
 * variable read as "" failed the start-up so. Never quoted: a gateway's URL may carry a credential.
 *
 * Calls go to its origin and path alone, so a part of it no call would carry is refused rather than dropped: a
 * user name and password (`https://user:pass@gateway`), a query (`?tenant=…`) or a fragment. They were dropped
 * without a word, and a gateway that needed them refused every call (as the provider refusing the key, often).
 */
export function baseUrlOf(provider: Provider, baseUrl: unknown): URL {
  const got = typeof baseUrl !== 'string' ? kindOfOption(baseUrl) : baseUrl === '' ? 'an empty string' : 'text that is not a URL';
  if (typeof baseUrl !== 'string' || !URL.canParse(baseUrl)) throw new TypeError(`${provider} baseUrl must be an http(s) URL; got ${got}`);
  const base = new URL(baseUrl);
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError(`${provider} baseUrl must be http(s): ${base.protocol}`);
  if (base.username !== '' || base.password !== '') {
    throw new TypeError(
      `${provider} baseUrl carries a user name or password (user:password@), which byokit would not send: give the gateway's credential in headers instead`,
    );
  }
  if (base.search !== '') {
    throw new TypeError(
      `${provider} baseUrl has a query (?…), which byokit would not send: calls go to the base URL's origin and path alone; give a gateway's parameters in headers instead`,
    );
  }
  if (base.hash !== '') {
    throw new TypeError(
      `${provider} baseUrl has a fragment (#…), which byokit would not send: calls go to the base URL's origin and path alone`,
    );
  }
  return base;
}

/**
 * The host's static headers, checked where the client is made: undici refuses a bad name or value on every
 * call, which would read as the provider being unreachable. The value is never quoted: it may be a secret.
 */
export function staticHeaders(provider: Provider, headers: Record<string, string> = {}): Record<string, string> {
  // Read with Object.entries: a string would be sent as headers named 0, 1, 2…, an array likewise, a Map as none.
  if (!isSettingsObject(headers)) {
    throw new TypeError(`${provider} headers must be an object of header names and string values, got ${kindOfOption(headers)}`);
  }
  for (const [name, value] of Object.entries(headers)) {
    try {
      validateHeaderName(name);
      if (typeof value !== 'string') throw new TypeError('not a string');
      validateHeaderValue(name, value);
    } catch {
      throw new TypeError(
        `${provider} headers: ${JSON.stringify(name)} needs a token for a name and a string without CR, LF or NUL for a value`,
      );
    }
  }
  // Uncompressed answers (compressed-answer.ts), unless the host's headers ask otherwise in any spelling.
  const own = Object.keys(headers).some((name) => name.toLowerCase() === ACCEPT_ENCODING.name);
  return own ? { ...headers } : { [ACCEPT_ENCODING.name]: ACCEPT_ENCODING.value, ...headers };
}

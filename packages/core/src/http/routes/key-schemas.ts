import { z } from 'zod';
import { mapProviders, PROVIDERS, type Provider } from '../../keys/providers.js';
import type { PersonalKeyState, SystemKeyState } from '../../vault/key-manager.js';

// Format and placeholder rules live in keys/key-formats.ts, so that they answer with their own codes
// (invalid_key_format, placeholder_key); here a key is only "a string, or null to remove it".
const keyValue = z
  .string({ error: (issue) => (issue.input === undefined ? undefined : 'A key is a string, or null to remove it.') })
  .nullable()
  .optional();

// Every field list below is one entry per provider, in PROVIDERS' order: a provider added there is in each of them.
// Written out by hand, a fourth provider's key was saved and shown in no status.
const keyField = (provider: Provider) => `${provider}_api_key` as const;
const hasFlag = (provider: Provider) => `has_${provider}_key` as const;

/** Body of `PATCH /users/me/api-key` and `PATCH /admin/api-key`. Unknown fields are refused, never ignored. */
export const keyUpdateBody = z
  .strictObject(mapProviders(() => keyValue, keyField))
  .refine((body) => Object.keys(body).length > 0, {
    message: `Send at least one of ${PROVIDERS.map(keyField).join(', ')} (a string sets it, null removes it).`,
  })
  // The refinement, as the OpenAPI document says it (a refinement itself is left out of JSON Schema).
  .meta({ minProperties: 1 });

/** Query of the PATCH key routes: `?verify=true` asks each provider about its new key before saving. */
export const keyUpdateQuery = z.strictObject({
  verify: z
    .enum(['true', 'false'])
    .transform((value) => value === 'true')
    .optional(),
});

/** Query of `DELETE /users/me/api-key` and `DELETE /admin/api-key`. */
export const keyDeleteQuery = z.strictObject({ provider: z.enum(PROVIDERS).optional() });

// `unreadable`: a stored key that does not open (sealed under a master key this server lacks, or damaged); its
// calls fail with `key_unreadable` until it is entered again.
const verification = z.enum(['unverified', 'valid', 'invalid', 'unreadable']);
const keyState = {
  configured: z.boolean(),
  hint: z.string().optional().describe('The last four characters of the key, after an ellipsis.'),
  updated_at: z.string().optional(),
  verification: verification.optional(),
};
const personalKeyState = z.object({ ...keyState, system_fallback: z.boolean() });
const systemKeyState = z.object({ ...keyState, source: z.enum(['database', 'environment']).nullable() });

const hasFlags = mapProviders(() => z.boolean(), hasFlag);

/** Response of the personal key routes: the guide's booleans (`has_anthropic_key`…) plus the `keys` extension. */
export const personalKeyStatus = z.object({ ...hasFlags, keys: z.object(mapProviders(() => personalKeyState)) });

/** Response of the system key routes. */
export const systemKeyStatus = z.object({ ...hasFlags, keys: z.object(mapProviders(() => systemKeyState)) });

export type PersonalKeyStatusBody = z.infer<typeof personalKeyStatus>;
export type SystemKeyStatusBody = z.infer<typeof systemKeyStatus>;

/** ISO 8601 to the second, as the contract shows it (`2026-11-25T10:00:00Z`). */
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

function stateBody(state: PersonalKeyState | SystemKeyState) {
  return {
    configured: state.configured,
    ...(state.hint !== undefined && { hint: state.hint }),
    ...(state.updatedAt !== undefined && { updated_at: isoSeconds(state.updatedAt) }),
    ...(state.verification !== undefined && { verification: state.verification }),
  };
}

/** The personal status body from the key manager's state. */
export function personalStatusBody(states: Record<Provider, PersonalKeyState>): PersonalKeyStatusBody {
  return statusBody(states, (state) => ({ ...stateBody(state), system_fallback: state.systemFallback }));
}

/** The system status body from the key manager's state. */
export function systemStatusBody(states: Record<Provider, SystemKeyState>): SystemKeyStatusBody {
  return statusBody(states, (state) => ({ ...stateBody(state), source: state.source }));
}

/** The flags, then `keys`, each in PROVIDERS' order: the order the contract's example gives them in. */
function statusBody<State extends PersonalKeyState | SystemKeyState, Entry>(
  states: Record<Provider, State>,
  entry: (state: State) => Entry,
): Record<`has_${Provider}_key`, boolean> & { keys: Record<Provider, Entry> } {
  const flags = mapProviders((provider) => states[provider].configured, hasFlag);
  return { ...flags, keys: mapProviders((provider) => entry(states[provider])) };
}

/** The key update in the key manager's terms: field names to providers, absent fields left out. */
export function keyUpdateOf(body: z.infer<typeof keyUpdateBody>): Partial<Record<Provider, string | null>> {
  const update: Partial<Record<Provider, string | null>> = {};
  for (const provider of PROVIDERS) {
    const value = body[keyField(provider)];
    if (value !== undefined) update[provider] = value;
  }
  return update;
}

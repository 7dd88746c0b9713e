import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createByokit } from '../byokit.js';
import { Keyring } from '../crypto/keyring.js';
import { isByokitError } from '../errors.js';
import { fakeProviderKey } from '../keys/fake-keys.js';
import { findKeyLeaks } from '../testing/leak-check.js';
import { memoryStorage } from '../storage/memory-storage.js';
import { SYSTEM_OWNER, userOwner, type KeyOwner } from '../storage/storage.js';
import { sealProviderKey } from '../crypto/envelope.js';
import { admin, alice, bob, call, testByokit, testKeyring } from '../http/test-helpers.js';

/** A logger that keeps its warnings, as `[fields, message]`, and drops every other line. */
function warningsKept() {
  const warnings: Array<[Record<string, unknown>, string]> = [];
  const ignore = () => {};
  const logger = {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn: (fields: Record<string, unknown>, message: string) => void warnings.push([fields, message]),
  };
  return { logger, warnings };
}

describe("key resolution: the guide's example", () => {
  // The guide: "You configured Anthropic key: uses YOUR key; you didn't configure OpenAI key, but admin did:
  // uses SYSTEM key; neither you nor admin configured Google key: error."
  it('uses your key, then the system key, then refuses with api_key_required naming the provider', async () => {
    const { byokit } = await testByokit();
    const yours = fakeProviderKey('anthropic');
    const system = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: yours } });
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: system } });

    const anthropic = await byokit.resolveKey(alice, 'anthropic');
    expect(anthropic.source).toBe('user');
    expect(anthropic.key.reveal()).toBe(yours);

    const openai = await byokit.resolveKey(alice, 'openai');
    expect(openai.source).toBe('system');
    expect(openai.key.reveal()).toBe(system);

    const google = await byokit.resolveKey(alice, 'google').catch((error: unknown) => error);
    expect(isByokitError(google)).toBe(true);
    expect(google).toMatchObject({ code: 'api_key_required', status: 400, details: { provider: 'google' } });
    expect((google as Error).message).toContain('google');
  });

  it.each([
    ['personal key only', { personal: true }, 'user'],
    ['personal key and a database system key', { personal: true, database: true }, 'user'],
    ['personal key and an environment system key', { personal: true, environment: true }, 'user'],
    ['database and environment system keys', { database: true, environment: true }, 'system:database'],
    ['environment system key only', { environment: true }, 'system:environment'],
    ['nothing', {}, 'api_key_required'],
  ] as const)('with %s, resolves to %s', async (_name, setup, expected) => {
    const keys = { personal: fakeProviderKey('google'), database: fakeProviderKey('google'), environment: fakeProviderKey('google') };
    const { byokit } = await testByokit({ environment: 'environment' in setup ? { GOOGLE_API_KEY: keys.environment } : {} });
    if ('personal' in setup)
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: keys.personal } });
    if ('database' in setup) await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { google_api_key: keys.database } });
    const outcome = await byokit.resolveKey(alice, 'google').then(
      ({ key, source }) =>
        source === 'user'
          ? key.reveal() === keys.personal
            ? 'user'
            : 'wrong key'
          : `system:${key.reveal() === keys.database ? 'database' : 'environment'}`,
      (error: { code: string }) => error.code,
    );
    expect(outcome).toBe(expected);
  });

  it("never uses another user's personal key", async () => {
    const { byokit } = await testByokit();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: bob, body: { openai_api_key: fakeProviderKey('openai') } });
    await expect(byokit.resolveKey(alice, 'openai')).rejects.toMatchObject({ code: 'api_key_required' });
  });

  it('treats a placeholder in the environment as absent', async () => {
    const { byokit } = await testByokit({ environment: { ANTHROPIC_API_KEY: 'sk-ant-YOUR-KEY-HERE' } });
    await expect(byokit.resolveKey(alice, 'anthropic')).rejects.toMatchObject({ code: 'api_key_required' });
  });

  it('treats a placeholder already stored in the database as absent, personal or system, and uses the next key', async () => {
    // Stored before today's format checks, or written by a host straight to its storage: counted as no key at
    // all, never sent to the provider (spec/http-api.md, "Placeholder keys count as absent at every level").
    const storage = memoryStorage();
    const keyring = testKeyring('k1');
    const environmentKey = fakeProviderKey('anthropic');
    const byokit = await createByokit({ storage, keyring, environment: { ANTHROPIC_API_KEY: environmentKey } });
    const storePlaceholder = async (owner: KeyOwner) => {
      const placeholder = 'sk-ant-api03-YOUR-REAL-KEY-HERE';
      const context = { ownerType: owner.type, ownerId: owner.id, provider: 'anthropic' };
      const { envelope, keyId } = sealProviderKey(keyring, placeholder, context);
      const change = { action: 'set', provider: 'anthropic', envelope, keyId, hint: '…HERE', verification: 'unverified' } as const;
      await storage.writeKeys(owner, [change], { actorId: 'host', requestId: 'seed' }, new Date());
    };
    await storePlaceholder(userOwner(alice.userId));
    await storePlaceholder(SYSTEM_OWNER);
    const resolved = await byokit.resolveKey(alice, 'anthropic');
    expect(resolved.source).toBe('system');
    expect(resolved.key.reveal()).toBe(environmentKey);
  });

  it("ignores another provider's key left in a variable, with a warning that names the variable and shows nothing of the key", async () => {
    const misplaced = fakeProviderKey('openai');
    const { logger, warnings } = warningsKept();
    const { byokit } = await testByokit({ environment: { ANTHROPIC_API_KEY: misplaced }, logger });
    await expect(byokit.resolveKey(alice, 'anthropic')).rejects.toMatchObject({ code: 'api_key_required' });
    expect(warnings).toMatchObject([
      [{ variable: 'ANTHROPIC_API_KEY', provider: 'anthropic' }, expect.stringContaining('ANTHROPIC_API_KEY is not a usable')],
    ]);
    expect(findKeyLeaks([misplaced], [['warnings', JSON.stringify(warnings)]])).toEqual([]);
  });

  // An admin who put a new key in .env (the old one revoked) and restarted found every call still made with the key
  // stored through the API, which wins, and nothing at start said so.
  it('warns at start of a system key variable that a different key stored through the API overrides, by hints only; not of the same key', async () => {
    const storage = memoryStorage();
    const keyring = testKeyring('k1');
    const stored = fakeProviderKey('openai');
    const storedGoogle = fakeProviderKey('google');
    const first = await createByokit({ storage, keyring, environment: {} });
    await call(first, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: stored, google_api_key: storedGoogle } });
    await first.close();
    const fromEnvironment = fakeProviderKey('openai');
    const { logger, warnings } = warningsKept();
    const environment = { OPENAI_API_KEY: fromEnvironment, GOOGLE_API_KEY: storedGoogle, ANTHROPIC_API_KEY: fakeProviderKey('anthropic') };
    const second = await createByokit({ storage, keyring, environment, logger });
    expect((await second.resolveKey(alice, 'openai')).key.reveal()).toBe(stored);
    expect(warnings).toEqual([
      [
        {
          variable: 'OPENAI_API_KEY',
          provider: 'openai',
          storedHint: `…${stored.slice(-4)}`,
          environmentHint: `…${fromEnvironment.slice(-4)}`,
        },
        expect.stringMatching(
          /^OPENAI_API_KEY is set, but the system OpenAI key stored through the API .* is used instead.*DELETE \/admin\/api-key\?provider=openai/,
        ),
      ],
    ]);
    expect(findKeyLeaks([stored, fromEnvironment, storedGoogle], [['warnings', JSON.stringify(warnings)]])).toEqual([]);
    await second.close();
  });

  // Google's Gemini docs say to set GEMINI_API_KEY; an admin who did so had no Google system key, and no word of it.
  it('warns of a Google key in GEMINI_API_KEY or GOOGLE_GENERATIVE_AI_API_KEY, which byokit does not read, naming the variable it reads; not when that one is set', async () => {
    const { logger, warnings } = warningsKept();
    const key = fakeProviderKey('google');
    const { byokit } = await testByokit({ environment: { GEMINI_API_KEY: key, GOOGLE_GENERATIVE_AI_API_KEY: ' ' }, logger });
    await expect(byokit.resolveKey(alice, 'google')).rejects.toMatchObject({ code: 'api_key_required' });
    expect(warnings).toEqual([
      [
        { variable: 'GEMINI_API_KEY', provider: 'google' },
        expect.stringMatching(/^GEMINI_API_KEY is set, but byokit reads the Google system key from GOOGLE_API_KEY.*systemKeyVariables/),
      ],
    ]);
    expect(findKeyLeaks([key], [['warnings', JSON.stringify(warnings)]])).toEqual([]);
    warnings.length = 0;
    await testByokit({ environment: { GOOGLE_API_KEY: fakeProviderKey('google'), GEMINI_API_KEY: key }, logger });
    await testByokit({ environment: { GEMINI_API_KEY: key }, systemKeyVariables: { google: 'GEMINI_API_KEY' }, logger });
    expect(warnings).toEqual([]);
  });

  // The warning above says to pass systemKeyVariables: { google: 'GEMINI_API_KEY' }; a host that wrote the variable's
  // value there instead (process.env.GEMINI_API_KEY) had the warning name its "variable": the key, in the log.
  it.each(['google', 'openai'] as const)(
    'refuses at start a key given where the name of its variable goes, quoting none of it: %s',
    async (provider) => {
      const { logger, warnings } = warningsKept();
      const key = fakeProviderKey(provider);
      const failure = await testByokit({
        environment: { GEMINI_API_KEY: key, OPENAI_API_KEY: key },
        systemKeyVariables: { [provider]: key },
        logger,
      }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(findKeyLeaks([key], [['warnings', JSON.stringify(warnings)]])).toEqual([]);
      expect(failure).toBeInstanceOf(TypeError);
      expect((failure as Error).message).toMatch(
        new RegExp(`^systemKeyVariables\\.${provider} must be the name of an environment variable`),
      );
      expect(findKeyLeaks([key], [['refusal', inspect(failure)]])).toEqual([]);
    },
  );

  it('reads system keys from the variable names the host configures', async () => {
    const key = fakeProviderKey('openai');
    const { byokit } = await testByokit({ environment: { MY_OPENAI: key }, systemKeyVariables: { openai: 'MY_OPENAI' } });
    expect((await byokit.resolveKey(alice, 'openai')).key.reveal()).toBe(key);
  });

  it("reads a provider's system key from its default variable when the host's name for it is undefined (a configuration's unset one)", async () => {
    const key = fakeProviderKey('anthropic');
    const { byokit } = await testByokit({ environment: { ANTHROPIC_API_KEY: key }, systemKeyVariables: { anthropic: undefined } });
    expect((await byokit.resolveKey(alice, 'anthropic')).key.reveal()).toBe(key);
  });
});

describe('key resolution: failures are loud', () => {
  it('fails with key_unreadable, never falling through to the system key, when a stored key does not open', async () => {
    const storage = memoryStorage();
    const environment = { OPENAI_API_KEY: fakeProviderKey('openai') };
    const byokit = await createByokit({ storage, keyring: testKeyring('k1'), environment });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    await alterStoredKey(storage, userOwner(alice.userId), 'openai');
    await expect(byokit.resolveKey(alice, 'openai')).rejects.toMatchObject({
      code: 'key_unreadable',
      status: 400,
      details: { provider: 'openai', keySource: 'user' },
      cause: { code: 'key_decrypt_failed' },
    });
  });

  it("shows a stored key that does not open as verification 'unreadable' in its owner's status, and as readable again once entered again", async () => {
    const storage = memoryStorage();
    const environment = { OPENAI_API_KEY: fakeProviderKey('openai') };
    const second = await createByokit({ storage, keyring: testKeyring('k1'), environment });
    await call(second, 'PATCH', '/users/me/api-key', {
      principal: alice,
      body: { openai_api_key: fakeProviderKey('openai'), google_api_key: fakeProviderKey('google') },
    });
    await alterStoredKey(storage, userOwner(alice.userId), 'openai');
    await alterStoredKey(storage, userOwner(alice.userId), 'google');
    const status = await call(second, 'GET', '/users/me/api-key-status', { principal: alice });
    expect(status!.status).toBe(200);
    expect(status!.json.keys.openai).toMatchObject({ configured: true, verification: 'unreadable', system_fallback: true });
    expect(status!.json.keys.google).toMatchObject({ configured: true, verification: 'unreadable' });
    expect(status!.json.keys.anthropic).toEqual({ configured: false, system_fallback: false });

    const again = fakeProviderKey('openai');
    const saved = await call(second, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: again } });
    expect(saved!.json.keys.openai).toMatchObject({ configured: true, verification: 'unverified' });
    expect(saved!.json.keys.google).toMatchObject({ verification: 'unreadable' });
    expect((await second.resolveKey(alice, 'openai')).key.reveal()).toBe(again);
  });

  it("shows the admin a system key that does not open as verification 'unreadable', and tells a user whose call needs it to ask an admin", async () => {
    const { byokit, storage } = await testByokit();
    const system = fakeProviderKey('anthropic');
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { anthropic_api_key: system } });
    const row = (await storage.getKey(SYSTEM_OWNER, 'anthropic'))!;
    const altered = row.envelope.slice();
    altered[altered.length - 1]! ^= 0x01;
    expect(await storage.replaceKeyEnvelope(SYSTEM_OWNER, 'anthropic', row.envelope, { envelope: altered, keyId: row.keyId })).toBe(true);

    const status = await call(byokit, 'GET', '/admin/api-key-status', { principal: admin });
    expect(status!.json.keys.anthropic).toMatchObject({ configured: true, source: 'database', verification: 'unreadable' });
    const answer = await call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: { model_id: '564e8710-43a9-406f-b0ab-e8d651a33e82', messages: [{ role: 'user', content: 'Hello!' }] },
    });
    expect(answer!.status).toBe(400);
    expect(answer!.json.error).toEqual({
      code: 'key_unreadable',
      message:
        'The stored system Anthropic key can no longer be read (it was sealed under a master key this server does not have or no longer accepts, or its stored copy is damaged): ask an admin to enter it again.',
      provider: 'anthropic',
      key_source: 'system',
      request_id: expect.any(String),
    });
    expect(
      findKeyLeaks(
        [system],
        [
          ['answer', answer!.text],
          ['status', status!.text],
        ],
      ),
    ).toEqual([]);
  });

  it("a key that does not open (altered in storage) fails its own provider's calls, not its owner's model list or an admin's catalog change", async () => {
    const { byokit, storage } = await testByokit({ environment: { GOOGLE_API_KEY: fakeProviderKey('google') } });
    await call(byokit, 'PATCH', '/users/me/api-key', {
      principal: admin,
      body: { anthropic_api_key: fakeProviderKey('anthropic'), openai_api_key: fakeProviderKey('openai') },
    });
    // The admin's own OpenAI key is altered in storage: one byte of its ciphertext flipped.
    const owner = userOwner(admin.userId);
    const row = (await storage.getKey(owner, 'openai'))!;
    const altered = row.envelope.slice();
    altered[altered.length - 1]! ^= 0x01;
    expect(await storage.replaceKeyEnvelope(owner, 'openai', row.envelope, { envelope: altered, keyId: row.keyId })).toBe(true);

    // Its calls fail loudly, never falling through to a system key.
    await expect(byokit.resolveKey(admin, 'openai')).rejects.toMatchObject({ code: 'key_unreadable' });
    // The model list still answers, for every provider; the OpenAI models name the key their calls would use.
    const list = await call(byokit, 'GET', '/llm-models/', { principal: admin });
    expect(list!.status).toBe(200);
    const sources = Object.fromEntries(
      list!.json.data.map((model: { provider: string; key_source: string }) => [model.provider, model.key_source]),
    );
    expect(sources).toEqual({ anthropic: 'user', openai: 'user', google: 'system' });
    const openaiModel = list!.json.data.find((model: { provider: string }) => model.provider === 'openai');
    expect((await call(byokit, 'GET', `/llm-models/${openaiModel.id}`, { principal: admin }))!.status).toBe(200);
    // A model the admin adds is answered 201, not a 500 after it was saved.
    const added = await call(byokit, 'POST', '/llm-models', {
      principal: admin,
      body: {
        provider: 'openai',
        model: 'gpt-test-local',
        display_name: 'GPT Test (local)',
        context_window: 128_000,
        max_output_tokens: 16_384,
        pricing: { input_per_mtok_usd: '0.15', output_per_mtok_usd: '0.6' },
      },
    });
    expect(added!.status).toBe(201);
    expect(added!.json).toMatchObject({ model: 'gpt-test-local', key_source: 'user' });
  });

  it("answers its owner's chat that needs a key that does not open with 400 key_unreadable, saying to enter it again; the row and master key id only in the error log", async () => {
    const storage = memoryStorage();
    const errors: Array<Record<string, unknown>> = [];
    const ignore = () => {};
    const logger = { debug: ignore, info: ignore, warn: ignore, error: (line: Record<string, unknown>) => void errors.push(line) };
    const second = await createByokit({ storage, keyring: testKeyring('k1'), environment: {}, logger });
    const key = fakeProviderKey('openai');
    await call(second, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });
    await alterStoredKey(storage, userOwner(alice.userId), 'openai');
    // A chat with an OpenAI model: the model list still answers (above), the call needs the key itself.
    const models = await call(second, 'GET', '/llm-models?is_active=true', { principal: alice });
    const openaiModel = models!.json.data.find((model: { provider: string }) => model.provider === 'openai');
    const response = await call(second, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: { model_id: openaiModel.id, messages: [{ role: 'user', content: 'Hello!' }] },
    });
    expect(response!.status).toBe(400);
    expect(response!.json.error).toEqual({
      code: 'key_unreadable',
      message:
        'Your stored OpenAI key can no longer be read (it was sealed under a master key this server does not have or no longer accepts, or its stored copy is damaged): enter it again in your profile, or remove it.',
      provider: 'openai',
      key_source: 'user',
      request_id: response!.json.error.request_id,
    });
    // The operator hears of it, with what to look for: the row and the master key id.
    expect(errors).toMatchObject([
      {
        code: 'key_unreadable',
        requestId: response!.json.error.request_id,
        provider: 'openai',
        keySource: 'user',
        err: expect.objectContaining({ cause: expect.objectContaining({ message: expect.stringContaining("master key id 'k1'") }) }),
      },
    ]);
    expect(
      findKeyLeaks(
        [key],
        [
          ['answer', response!.text],
          ['log', JSON.stringify(errors)],
        ],
      ),
    ).toEqual([]);
  });

  /** Alice's OpenAI key stored sealed by master key 'old', and a key 'new' for the keyring to move to. */
  async function aliceKeySealedByOld() {
    const storage = memoryStorage();
    const oldKey = { id: 'old', key: crypto.getRandomValues(new Uint8Array(32)) };
    const newKey = { id: 'new', key: crypto.getRandomValues(new Uint8Array(32)) };
    const openai = fakeProviderKey('openai');
    const first = await createByokit({ storage, keyring: Keyring.from([oldKey]), environment: {} });
    await call(first, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: openai } });
    await first.close();
    return { storage, oldKey, newKey, openai };
  }

  it('refuses to start when storage holds keys sealed by a master key the keyring lacks, and starts once it is back', async () => {
    const { storage, oldKey, newKey, openai } = await aliceKeySealedByOld();
    await expect(createByokit({ storage, keyring: Keyring.from([newKey]), environment: {} })).rejects.toMatchObject({
      code: 'keyring_invalid',
      // Either may be the case: a key dropped too soon, or a rotation to 'old' whose key this keyring never got.
      message: expect.stringContaining(
        "sealed with master key id 'old', which the keyring lacks. If 'old' is the key you rotated to, put it first in the keyring, as primary; if it is an older one, add it back (not first)",
      ),
    });
    // With the old key kept beside a new primary, it starts and still opens the old envelope.
    const rotated = await createByokit({ storage, keyring: Keyring.from([newKey, oldKey]), environment: {} });
    expect((await rotated.resolveKey(alice, 'openai')).key.reveal()).toBe(openai);
  });

  // spec/security.md: a retired key id is refused, and retired only once no row is left on it. docs/security.md: a
  // node whose keyring lacks, or retires, an id that still seals rows refuses to start. The lacking id was tested.
  it('refuses to start when the keyring retires a master key id that still seals stored keys, and starts once they are re-encrypted', async () => {
    const { storage, oldKey, newKey, openai } = await aliceKeySealedByOld();
    const retiringOld = () => Keyring.from([newKey, oldKey], { retired: ['old'] });
    await expect(createByokit({ storage, keyring: retiringOld(), environment: {} })).rejects.toMatchObject({
      code: 'keyring_invalid',
      message: expect.stringContaining("1 stored key(s) are sealed with master key id 'old', which the keyring marks retired"),
    });
    const rotating = await createByokit({ storage, keyring: Keyring.from([newKey, oldKey]), environment: {} });
    await rotating.rotateKeys();
    await rotating.close();
    const retired = await createByokit({ storage, keyring: retiringOld(), environment: {} });
    expect((await retired.resolveKey(alice, 'openai')).key.reveal()).toBe(openai);
    await retired.close();
  });
});

describe('key resolution: a master key that is not the one that sealed the stored keys', () => {
  const masterKey = (id: string) => ({ id, key: crypto.getRandomValues(new Uint8Array(32)) });

  it("refuses to start when the keyring's key under a stored id is another key (the id matches, the bytes do not), and starts once the right key is back", async () => {
    const storage = memoryStorage();
    const right = masterKey('k1');
    const keys = { alice: fakeProviderKey('openai'), bob: fakeProviderKey('anthropic'), system: fakeProviderKey('google') };
    const first = await createByokit({ storage, keyring: Keyring.from([right]), environment: {} });
    await call(first, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: keys.alice } });
    await call(first, 'PATCH', '/users/me/api-key', { principal: bob, body: { anthropic_api_key: keys.bob } });
    await call(first, 'PATCH', '/admin/api-key', { principal: admin, body: { google_api_key: keys.system } });

    // Before, this started, every stored key answered key_unreadable, and each key entered again was sealed
    // under the wrong key, to be lost in turn once the right key came back.
    const refusal = await createByokit({ storage, keyring: Keyring.from([masterKey('k1')]), environment: {} }).catch(
      (error: unknown) => error,
    );
    expect(refusal).toMatchObject({
      code: 'keyring_invalid',
      message: expect.stringContaining(
        "The keyring's master key 'k1' is not the key that sealed the stored keys under 'k1': none of the 3 tried opens with it",
      ),
    });
    expect(findKeyLeaks(Object.values(keys), [['refusal', JSON.stringify({ message: (refusal as Error).message })]])).toEqual([]);

    const again = await createByokit({ storage, keyring: Keyring.from([right]), environment: {} });
    expect((await again.resolveKey(alice, 'openai')).key.reveal()).toBe(keys.alice);
  });

  it('refuses to start when an older key kept for rotation is another key under its id', async () => {
    const storage = memoryStorage();
    const old = masterKey('old');
    const first = await createByokit({ storage, keyring: Keyring.from([old]), environment: {} });
    await call(first, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    await call(first, 'PATCH', '/users/me/api-key', { principal: bob, body: { openai_api_key: fakeProviderKey('openai') } });
    const fresh = masterKey('new');
    const rotating = await createByokit({ storage, keyring: Keyring.from([fresh, old]), environment: {} });
    await call(rotating, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: fakeProviderKey('google') } });
    await call(rotating, 'PATCH', '/users/me/api-key', { principal: bob, body: { google_api_key: fakeProviderKey('google') } });

    await expect(createByokit({ storage, keyring: Keyring.from([fresh, masterKey('old')]), environment: {} })).rejects.toMatchObject({
      code: 'keyring_invalid',
      message: expect.stringContaining("The keyring's master key 'old' is not the key that sealed the stored keys under 'old'"),
    });
    await expect(createByokit({ storage, keyring: Keyring.from([masterKey('new'), old]), environment: {} })).rejects.toMatchObject({
      code: 'keyring_invalid',
      message: expect.stringContaining("The keyring's master key 'new' is not the key that sealed the stored keys under 'new'"),
    });
    await expect(createByokit({ storage, keyring: Keyring.from([fresh, old]), environment: {} })).resolves.toBeDefined();
  });

  it('still starts when a stored key alone does not open (altered or moved), and only that key answers key_unreadable', async () => {
    const storage = memoryStorage();
    const keyring = testKeyring('k1');
    const first = await createByokit({ storage, keyring, environment: {} });
    const users = [alice, bob, { userId: 'carol', isAdmin: false }];
    for (const principal of users) {
      await call(first, 'PATCH', '/users/me/api-key', { principal, body: { openai_api_key: fakeProviderKey('openai') } });
    }
    // Alice's row altered, bob's replaced by a copy of carol's: neither opens; carol's still does.
    await alterStoredKey(storage, userOwner(alice.userId), 'openai');
    const bobRow = (await storage.getKey(userOwner(bob.userId), 'openai'))!;
    const carolRow = (await storage.getKey(userOwner('carol'), 'openai'))!;
    await storage.replaceKeyEnvelope(userOwner(bob.userId), 'openai', bobRow.envelope, { envelope: carolRow.envelope, keyId: 'k1' });

    const second = await createByokit({ storage, keyring, environment: {} });
    await expect(second.resolveKey(alice, 'openai')).rejects.toMatchObject({ code: 'key_unreadable' });
    await expect(second.resolveKey(bob, 'openai')).rejects.toMatchObject({ code: 'key_unreadable' });
    await expect(second.resolveKey({ userId: 'carol' }, 'openai')).resolves.toMatchObject({ source: 'user' });
  });

  it('still starts when the only stored key under an id does not open: one row is no proof that the key is wrong', async () => {
    const storage = memoryStorage();
    const keyring = testKeyring('k1');
    const first = await createByokit({ storage, keyring, environment: {} });
    await call(first, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    await alterStoredKey(storage, userOwner(alice.userId), 'openai');

    const second = await createByokit({ storage, keyring, environment: {} });
    await expect(second.resolveKey(alice, 'openai')).rejects.toMatchObject({ code: 'key_unreadable' });
  });
});

describe('key resolution: the decrypted-key cache', () => {
  it('sees a write through this process at once', async () => {
    const { byokit } = await testByokit({ keyCache: { ttlMs: 60_000 } });
    const first = fakeProviderKey('anthropic');
    const second = fakeProviderKey('anthropic');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: first } });
    expect((await byokit.resolveKey(alice, 'anthropic')).key.reveal()).toBe(first);
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: second } });
    expect((await byokit.resolveKey(alice, 'anthropic')).key.reveal()).toBe(second);
    await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice });
    await expect(byokit.resolveKey(alice, 'anthropic')).rejects.toMatchObject({ code: 'api_key_required' });
  });

  it('does not cache a key read before a write through this process that ended meanwhile', async () => {
    // A chat reads the personal key while the user deletes it: the read began first and returns the old key,
    // which that chat may use; but the write has ended, so no later call may use the old key from the cache.
    const storage = memoryStorage();
    let holdReads: Promise<void> | undefined;
    const slow = {
      ...storage,
      getKey: async (...args: Parameters<typeof storage.getKey>) => {
        const row = await storage.getKey(...args);
        await holdReads;
        return row;
      },
    };
    const byokit = await createByokit({ storage: slow, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
    const old = fakeProviderKey('anthropic');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: old } });

    let release!: () => void;
    holdReads = new Promise((resolve) => (release = resolve));
    const during = byokit.resolveKey(alice, 'anthropic');
    await new Promise((resolve) => setImmediate(resolve));
    holdReads = undefined;
    await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice });
    release();

    expect((await during).key.reveal()).toBe(old);
    await expect(byokit.resolveKey(alice, 'anthropic')).rejects.toMatchObject({ code: 'api_key_required' });
  });

  it("sees another process's write once the TTL has passed, not before", async () => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const storage = memoryStorage();
    const keyring = testKeyring();
    const options = { storage, keyring, environment: {}, keyCache: { ttlMs: 5_000 }, now: () => new Date(now) };
    const nodeA = await createByokit(options);
    const nodeB = await createByokit(options);
    const [first, second] = [fakeProviderKey('google'), fakeProviderKey('google')];
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: first } });
    expect((await nodeB.resolveKey(alice, 'google')).key.reveal()).toBe(first);
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: second } });
    expect((await nodeB.resolveKey(alice, 'google')).key.reveal()).toBe(first);
    now += 5_001;
    expect((await nodeB.resolveKey(alice, 'google')).key.reveal()).toBe(second);
  });

  it('never refuses for want of a key on an absence it cached: a key another process saved since is used at once', async () => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const storage = memoryStorage();
    let reads = 0;
    const counting = { ...storage, getKey: (...args: Parameters<typeof storage.getKey>) => (reads++, storage.getKey(...args)) };
    const options = { keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 5_000 }, now: () => new Date(now) };
    const nodeA = await createByokit({ ...options, storage });
    const nodeB = await createByokit({ ...options, storage: counting });
    await expect(nodeB.resolveKey(alice, 'google')).rejects.toMatchObject({ code: 'api_key_required' });
    // Read once (personal and system): an absence just read from storage is not read again.
    expect(reads).toBe(2);
    const key = fakeProviderKey('google');
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: key } });
    expect((await nodeB.resolveKey(alice, 'google')).key.reveal()).toBe(key);
    now += 1_000;
    // Cached again as found: the next call reads nothing.
    reads = 0;
    expect((await nodeB.resolveKey(alice, 'google')).key.reveal()).toBe(key);
    expect(reads).toBe(0);
  });

  it('stops using a key another process deleted within the TTL of the deletion, even when the read of it was slow', async () => {
    // spec/architecture.md, scale-out: a node's cache is stale by at most its TTL. A read that sees the old key
    // and answers late (a slow statement, a busy pool) must not keep it for a whole TTL after the answer came.
    let now = Date.parse('2026-11-25T10:00:00Z');
    const storage = memoryStorage();
    const keyring = testKeyring();
    const options = { keyring, environment: {}, keyCache: { ttlMs: 5_000 }, now: () => new Date(now) };
    const nodeA = await createByokit({ ...options, storage });
    let deleteDuringRead = false;
    const slow = {
      ...storage,
      getKey: async (...args: Parameters<typeof storage.getKey>) => {
        const row = await storage.getKey(...args);
        if (deleteDuringRead) {
          deleteDuringRead = false;
          now += 1_000;
          await call(nodeA, 'DELETE', '/users/me/api-key', { principal: alice });
          now += 3_000; // the answer with the old key arrives 4 s after the read began
        }
        return row;
      },
    };
    const nodeB = await createByokit({ ...options, storage: slow });
    const key = fakeProviderKey('openai');
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });

    deleteDuringRead = true;
    expect((await nodeB.resolveKey(alice, 'openai')).key.reveal()).toBe(key);
    const deletedAt = Date.parse('2026-11-25T10:00:01Z');
    now = deletedAt + 5_000;
    await expect(nodeB.resolveKey(alice, 'openai')).rejects.toMatchObject({ code: 'api_key_required' });
  });

  it('stops using a key another process deleted once the TTL has passed, even when the clock stepped back meanwhile', async () => {
    // NTP steps a fast clock back: counted on the wall clock alone, a key cached before the step stayed in use
    // for the length of the step on top of the TTL (an hour here), though another node had deleted it.
    let now = Date.parse('2026-11-25T10:00:00Z');
    const storage = memoryStorage();
    const options = { storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 5_000 }, now: () => new Date(now) };
    const nodeA = await createByokit(options);
    const nodeB = await createByokit(options);
    const key = fakeProviderKey('openai');
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });
    expect((await nodeB.resolveKey(alice, 'openai')).key.reveal()).toBe(key);
    await call(nodeA, 'DELETE', '/users/me/api-key', { principal: alice });
    now -= 3_600_000;
    now += 5_000;
    await expect(nodeB.resolveKey(alice, 'openai')).rejects.toMatchObject({ code: 'api_key_required' });
  });

  it('reads storage on every call when the cache is off', async () => {
    const storage = memoryStorage();
    let reads = 0;
    const counting = { ...storage, getKey: (...args: Parameters<typeof storage.getKey>) => (reads++, storage.getKey(...args)) };
    const byokit = await createByokit({ storage: counting, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 0 } });
    await storage.writeKeys(userOwner(alice.userId), [], { actorId: 'x', requestId: 'y' }, new Date());
    await byokit.resolveKey(alice, 'openai').catch(() => {});
    await byokit.resolveKey(alice, 'openai').catch(() => {});
    expect(reads).toBe(4); // personal + system, twice
  });
});

describe('key resolution: many requests needing one key at once', () => {
  /**
   * A storage whose key reads are counted, by slot (`user:alice:openai`), and, after `hold()`, kept from answering
   * until the release it returned: each with what it found when it began, or failing with `failing` if set then.
   */
  function heldReads(storage = memoryStorage()) {
    let gate: Promise<void> | undefined;
    const held = {
      reads: [] as string[],
      failing: undefined as Error | undefined,
      storage: {
        ...storage,
        getKey: async (...args: Parameters<typeof storage.getKey>) => {
          const [owner, provider] = args;
          held.reads.push(`${owner.type}:${owner.id}:${provider}`);
          const [waitFor, failing] = [gate, held.failing];
          const row = await storage.getKey(...args);
          await waitFor;
          if (failing) throw failing;
          return row;
        },
      },
      readsOf: (slot: string) => held.reads.filter((read) => read === slot).length,
      /** Holds the reads begun from now until {@link stopHolding} or the release returned. */
      hold(): () => void {
        let release!: () => void;
        const thisGate = new Promise<void>((resolve) => (release = resolve));
        gate = thisGate;
        return () => {
          if (gate === thisGate) gate = undefined;
          release();
        };
      },
      /** Reads begun from now answer at once; those held still wait for their release. */
      stopHolding: () => void (gate = undefined),
    };
    return held;
  }
  /** Lets every resolution started so far reach storage, and every read not held answer. */
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  const many = <T>(count: number, start: (index: number) => Promise<T>) => Array.from({ length: count }, (_, index) => start(index));
  const outcome = (resolving: Promise<{ key: { reveal(): string } }>) =>
    resolving.then(
      ({ key }) => key.reveal(),
      (error: { code?: string }) => error.code,
    );

  it('reads storage and opens the key once for 50 resolutions at once of one key not cached, each given the key', async () => {
    const held = heldReads();
    const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
    const key = fakeProviderKey('anthropic');
    // A write through this byokit leaves the slot not cached, as a node just started or a TTL run out does.
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: key } });
    held.reads.length = 0;

    const release = held.hold();
    const resolving = many(50, () => byokit.resolveKey(alice, 'anthropic'));
    await settled();
    release();
    const resolved = await Promise.all(resolving);

    expect(resolved.map(({ key, source }) => `${source}:${key.reveal()}`)).toEqual(Array(50).fill(`user:${key}`));
    expect(held.readsOf(`user:${alice.userId}:anthropic`)).toBe(1);
    // Cached as before: the next call reads nothing.
    await byokit.resolveKey(alice, 'anthropic');
    expect(held.reads).toHaveLength(1);
  });

  it('reads the system key once for 50 users at once who have no key of their own', async () => {
    const held = heldReads();
    const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
    const system = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/admin/api-key', { principal: admin, body: { openai_api_key: system } });
    held.reads.length = 0;

    const resolving = many(50, (index) => byokit.resolveKey({ userId: `user-${index}` }, 'openai'));
    const resolved = await Promise.all(resolving);

    expect(resolved.map(({ key, source }) => `${source}:${key.reveal()}`)).toEqual(Array(50).fill(`system:${system}`));
    expect(held.readsOf('system:system:openai')).toBe(1);
    expect(held.reads.filter((read) => read.startsWith('user:'))).toHaveLength(50);
  });

  it.each(['replaced', 'deleted'] as const)(
    'a resolution begun after the key was %s through this process does not share the read begun before, nor is that read cached',
    async (change) => {
      // A chat's read of the key is under way when the user changes it: the chat may use what its read found,
      // but a call made after the write answered must see the write.
      const held = heldReads();
      const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
      const [old, replacement] = [fakeProviderKey('anthropic'), fakeProviderKey('anthropic')];
      await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: old } });

      const release = held.hold();
      const before = outcome(byokit.resolveKey(alice, 'anthropic'));
      await settled();
      held.stopHolding();
      if (change === 'replaced') {
        await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: replacement } });
      } else {
        await call(byokit, 'DELETE', '/users/me/api-key', { principal: alice });
      }
      const after = outcome(byokit.resolveKey(alice, 'anthropic'));
      await settled();
      release();

      const current = change === 'replaced' ? replacement : 'api_key_required';
      expect(await before).toBe(old);
      expect(await after).toBe(current);
      expect(await outcome(byokit.resolveKey(alice, 'anthropic'))).toBe(current);
    },
  );

  it('shares the read begun after a write through this process once the read begun before it has ended: storage is read once for both', async () => {
    const held = heldReads();
    const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
    const [old, replacement] = [fakeProviderKey('anthropic'), fakeProviderKey('anthropic')];
    const slot = `user:${alice.userId}:anthropic`;
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: old } });

    const releaseBefore = held.hold();
    const before = outcome(byokit.resolveKey(alice, 'anthropic'));
    await settled();
    held.stopHolding();
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { anthropic_api_key: replacement } });
    const readsBefore = held.readsOf(slot);
    const releaseSince = held.hold();
    const since = outcome(byokit.resolveKey(alice, 'anthropic'));
    await settled();
    // The read begun before the write ends first; a resolution begun then shares the one begun since.
    releaseBefore();
    expect(await before).toBe(old);
    const sharing = outcome(byokit.resolveKey(alice, 'anthropic'));
    await settled();
    releaseSince();

    expect([await since, await sharing]).toEqual([replacement, replacement]);
    expect(held.readsOf(slot) - readsBefore).toBe(1);
  });

  it('refuses no resolution for an absence a read shared with it found, begun before another process saved the key', async () => {
    // Node B is reading alice's slot (no key yet) when she saves one through node A; her next call on B, begun
    // after A answered, may not be refused for want of it on what B's earlier read found.
    const storage = memoryStorage();
    const held = heldReads(storage);
    const options = { keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } };
    const nodeA = await createByokit({ ...options, storage });
    const nodeB = await createByokit({ ...options, storage: held.storage });
    const key = fakeProviderKey('google');

    const release = held.hold();
    const before = outcome(nodeB.resolveKey(alice, 'google'));
    await settled();
    held.stopHolding();
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { google_api_key: key } });
    const after = outcome(nodeB.resolveKey(alice, 'google'));
    await settled();
    release();

    expect(await before).toBe('api_key_required');
    expect(await after).toBe(key);
  });

  it('does not share a read under way for a TTL or longer: a key another process deleted meanwhile is not served', async () => {
    let now = Date.parse('2026-12-07T10:00:00Z');
    const storage = memoryStorage();
    const held = heldReads(storage);
    const options = { keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 5_000 }, now: () => new Date(now) };
    const nodeA = await createByokit({ ...options, storage });
    const nodeB = await createByokit({ ...options, storage: held.storage });
    const key = fakeProviderKey('openai');
    await call(nodeA, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });

    const release = held.hold();
    const slow = outcome(nodeB.resolveKey(alice, 'openai'));
    await settled();
    held.stopHolding();
    await call(nodeA, 'DELETE', '/users/me/api-key', { principal: alice });
    now += 5_000;
    const later = outcome(nodeB.resolveKey(alice, 'openai'));
    await settled();
    release();

    expect(await slow).toBe(key);
    expect(await later).toBe('api_key_required');
  });

  it('fails every resolution sharing a read that failed (storage down) with its error, and caches nothing of it', async () => {
    const held = heldReads();
    const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
    const key = fakeProviderKey('openai');
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: key } });
    held.reads.length = 0;

    const down = new Error('Connection terminated unexpectedly');
    held.failing = down;
    const release = held.hold();
    const failed = many(20, () => byokit.resolveKey(alice, 'openai').catch((error: unknown) => error));
    await settled();
    held.failing = undefined;
    release();

    expect(await Promise.all(failed)).toEqual(Array(20).fill(down));
    expect(held.readsOf(`user:${alice.userId}:openai`)).toBe(1);
    expect(await outcome(byokit.resolveKey(alice, 'openai'))).toBe(key);
    expect(held.readsOf(`user:${alice.userId}:openai`)).toBe(2);
  });

  it('fails every resolution sharing the read of a key that does not open with key_unreadable, and caches nothing of it', async () => {
    const storage = memoryStorage();
    const held = heldReads(storage);
    const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 60_000 } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    await alterStoredKey(storage, userOwner(alice.userId), 'openai');
    held.reads.length = 0;

    const release = held.hold();
    const failed = many(20, () => byokit.resolveKey(alice, 'openai').catch((error: unknown) => error));
    await settled();
    release();

    for (const error of await Promise.all(failed)) {
      expect(error).toMatchObject({ code: 'key_unreadable', details: { provider: 'openai', keySource: 'user' } });
    }
    expect(held.readsOf(`user:${alice.userId}:openai`)).toBe(1);
    await expect(byokit.resolveKey(alice, 'openai')).rejects.toMatchObject({ code: 'key_unreadable' });
    expect(held.readsOf(`user:${alice.userId}:openai`)).toBe(2);
  });

  it('shares no read when the cache is off: each resolution reads storage', async () => {
    const held = heldReads();
    const byokit = await createByokit({ storage: held.storage, keyring: testKeyring(), environment: {}, keyCache: { ttlMs: 0 } });
    await call(byokit, 'PATCH', '/users/me/api-key', { principal: alice, body: { openai_api_key: fakeProviderKey('openai') } });
    held.reads.length = 0;
    await Promise.all(many(10, () => byokit.resolveKey(alice, 'openai')));
    expect(held.readsOf(`user:${alice.userId}:openai`)).toBe(10);
  });
});

/** Flips the last bit of a stored key's envelope, as a database that changed it would: it no longer opens. */
async function alterStoredKey(storage: ReturnType<typeof memoryStorage>, owner: KeyOwner, provider: 'openai' | 'anthropic' | 'google') {
  const row = (await storage.getKey(owner, provider))!;
  const altered = row.envelope.slice();
  altered[altered.length - 1]! ^= 0x01;
  expect(await storage.replaceKeyEnvelope(owner, provider, row.envelope, { envelope: altered, keyId: row.keyId })).toBe(true);
}

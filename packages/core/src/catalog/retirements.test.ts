import { describe, expect, it } from 'vitest';
import type { Logger } from '../logging/logger.js';
import type { Byokit } from '../byokit.js';
import { admin, alice, call, testByokit } from '../http/test-helpers.js';
import { BUILT_IN_MODELS, USER_GUIDE_SONNET_4_5_ID } from './built-in-models.js';
import { RETIREMENTS } from './retirements.js';

/** A logger that keeps its warnings. */
function warnings(): { logger: Logger; lines: Array<{ fields: object; message: string }> } {
  const lines: Array<{ fields: object; message: string }> = [];
  const quiet = () => {};
  return { logger: { debug: quiet, info: quiet, error: quiet, warn: (fields, message) => void lines.push({ fields, message }) }, lines };
}

describe('built-in models their provider has retired', () => {
  const RETIRED_MESSAGE =
    'Claude Sonnet 4.5 was retired by its provider on 2026-11-30, and calls to it now fail there. Deactivate it ' +
    `(PATCH /llm-models/${USER_GUIDE_SONNET_4_5_ID} with {"is_active": false}); its replacement is Claude Sonnet 5.5 (f8249082-e6ae-5964-b84f-719fa94f6a67).`;
  const chat = (byokit: Byokit, modelId = USER_GUIDE_SONNET_4_5_ID) =>
    call(byokit, 'POST', '/llm/chat/completions', {
      principal: alice,
      body: { model_id: modelId, messages: [{ role: 'user', content: 'Hi' }] },
    });

  it('warn the operator once, at the first call to one still active past its date, saying how to deactivate it and what replaces it', async () => {
    const { logger, lines } = warnings();
    const { byokit } = await testByokit({ logger, now: () => new Date('2026-12-04T10:00:00Z') });
    expect(lines).toEqual([]);
    await chat(byokit, 'f8249082-e6ae-5964-b84f-719fa94f6a67');
    expect(lines).toEqual([]);
    await chat(byokit);
    await chat(byokit);
    await byokit
      .chat({ userId: 'alice' }, { model_id: USER_GUIDE_SONNET_4_5_ID, messages: [{ role: 'user', content: 'Hi' }] })
      .catch(() => {});
    expect(lines).toEqual([
      {
        fields: {
          modelId: USER_GUIDE_SONNET_4_5_ID,
          model: 'claude-sonnet-4-5',
          provider: 'anthropic',
          retiredOn: '2026-11-30',
          replacementId: 'f8249082-e6ae-5964-b84f-719fa94f6a67',
        },
        message: RETIRED_MESSAGE,
      },
    ]);
  });

  it('warn each byokit of a process once, to its own logger: a second byokit warns too, and neither twice', async () => {
    // docs/architecture.md, "Several byokits in one process": retired-model warnings once per model per byokit.
    const [first, second] = [warnings(), warnings()];
    const at = () => new Date('2026-12-04T10:00:00Z');
    const one = (await testByokit({ logger: first.logger, now: at })).byokit;
    const other = (await testByokit({ logger: second.logger, now: at })).byokit;
    for (const byokit of [one, other, one, other]) await chat(byokit);
    expect([first.lines.map((line) => line.message), second.lines.map((line) => line.message)]).toEqual([
      [RETIRED_MESSAGE],
      [RETIRED_MESSAGE],
    ]);
  });

  it('say nothing before the date, nor once an admin has deactivated the model (the call is refused as inactive)', async () => {
    const before = warnings();
    const early = await testByokit({ logger: before.logger, now: () => new Date('2026-11-29T23:59:59Z') });
    await chat(early.byokit);
    expect(before.lines).toEqual([]);

    const after = warnings();
    const { byokit } = await testByokit({ logger: after.logger, now: () => new Date('2026-12-04T10:00:00Z') });
    const patched = await call(byokit, 'PATCH', `/llm-models/${USER_GUIDE_SONNET_4_5_ID}`, {
      principal: admin,
      body: { is_active: false },
    });
    expect(patched!.status).toBe(200);
    expect((await chat(byokit))!.json.error.code).toBe('model_inactive');
    expect(after.lines).toEqual([]);
  });

  it("write an admin's display name into the warning with its control characters escaped, so it cannot forge log lines", async () => {
    const { logger, lines } = warnings();
    const { byokit } = await testByokit({ logger, now: () => new Date('2026-12-04T10:00:00Z') });
    // A display name any admin can give: a line break and a forged line after it, an ANSI escape, a bidi override, a
    // C1 next line, Unicode's line separator, a bidi isolate and a right-to-left mark.
    const displayName = 'Sonnet\r\n{"level":50,"msg":"keyring rotated"}\u001b[2J\u202eX\u0085\u2028\u2067\u200f';
    const renamed = await call(byokit, 'PATCH', `/llm-models/${USER_GUIDE_SONNET_4_5_ID}`, {
      principal: admin,
      body: { display_name: displayName },
    });
    expect(renamed!.status).toBe(200);
    await chat(byokit);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(lines[0]!.message).toMatch(
      /^Sonnet\\r\\n\{"level":50,"msg":"keyring rotated"\}\\u001b\[2J\\u202eX\\u0085\\u2028\\u2067\\u200f was retired by its provider on 2026-11-30/,
    );
  });

  it('name only built-in models, each replaced by an active built-in model of the same provider', () => {
    for (const [id, { on, replacement: name }] of RETIREMENTS) {
      const retired = BUILT_IN_MODELS.find((model) => model.id === id);
      const replacement = BUILT_IN_MODELS.find((model) => model.provider === retired?.provider && model.model === name);
      expect(retired, id).toBeDefined();
      expect(replacement?.isActive, name).toBe(true);
      expect(on).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { ModelCatalog } from '../catalog/catalog.js';
import type { CatalogModel } from '../catalog/model.js';
import { MAX_CONTENT_CHARACTERS } from '../chat/chat-schemas.js';
import { isByokitError } from '../errors.js';
import { findModel, listedName, toChatRequest } from './openai-request.js';
import { MAX_CONTENT_PARTS, openAIChatBody } from './openai-schemas.js';

const GUIDE_MODEL_ID = '564e8710-43a9-406f-b0ab-e8d651a33e82';

/** An admin's model carrying a name another provider has too. */
const twin = (provider: CatalogModel['provider'], isActive = true): CatalogModel => ({
  id: crypto.randomUUID(),
  provider,
  model: 'claude-sonnet-4-5',
  displayName: `A ${provider} twin`,
  isActive,
  contextWindow: 1000,
  maxOutputTokens: 100,
  pricing: null,
});

describe('findModel: the model a request names', () => {
  const catalog = ModelCatalog.create();

  it('takes a catalog UUID in any letter case, a model name, or provider/name', () => {
    expect(findModel(catalog, GUIDE_MODEL_ID)?.model).toBe('claude-sonnet-4-5');
    expect(findModel(catalog, GUIDE_MODEL_ID.toUpperCase())?.id).toBe(GUIDE_MODEL_ID);
    expect(findModel(catalog, 'claude-sonnet-4-5')?.id).toBe(GUIDE_MODEL_ID);
    expect(findModel(catalog, 'anthropic/claude-sonnet-4-5')?.id).toBe(GUIDE_MODEL_ID);
  });

  it('finds nothing for an unknown name, a wrong provider prefix, or path tricks', () => {
    for (const name of [
      'gpt-nonexistent',
      'openai/claude-sonnet-4-5',
      'nobody/claude-sonnet-4-5',
      '../claude-sonnet-4-5',
      'claude-sonnet-4-5\r\n',
      '',
    ]) {
      expect(findModel(catalog, name)).toBeUndefined();
    }
  });

  it('gives a name two providers share to the first active one in catalog order, and lists the other as provider/name', () => {
    const google = twin('google');
    const shared = ModelCatalog.create([google]);
    expect(findModel(shared, 'claude-sonnet-4-5')?.id).toBe(GUIDE_MODEL_ID);
    expect(findModel(shared, 'google/claude-sonnet-4-5')?.id).toBe(google.id);
    expect(listedName(shared, shared.get(GUIDE_MODEL_ID)!)).toBe('claude-sonnet-4-5');
    expect(listedName(shared, shared.get(google.id)!)).toBe('google/claude-sonnet-4-5');

    const sonnetOff = { ...shared.get(GUIDE_MODEL_ID)!, isActive: false };
    const switched = shared.withOverride(sonnetOff);
    expect(findModel(switched, 'claude-sonnet-4-5')?.id).toBe(google.id);
  });

  it('still finds an inactive model, so that the call is refused as inactive rather than unknown', () => {
    const off = ModelCatalog.create([{ ...ModelCatalog.create().get(GUIDE_MODEL_ID)!, isActive: false }]);
    expect(findModel(off, 'claude-sonnet-4-5')?.isActive).toBe(false);
  });
});

describe('toChatRequest: an OpenAI request as the native one', () => {
  const model = ModelCatalog.create().get(GUIDE_MODEL_ID)!;
  const parse = (body: unknown) => openAIChatBody.parse(body);
  const errorOf = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      if (isByokitError(error)) return error;
      throw error;
    }
    throw new Error('expected a ByokitError');
  };

  it('maps roles, joins text parts, and takes either token limit', () => {
    const request = toChatRequest(
      parse({
        model: 'claude-sonnet-4-5',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
        max_completion_tokens: 10,
        temperature: null,
        stop: 'END',
        stream: true,
        n: 1,
        user: 'u-1',
      }),
      model,
    );
    expect(request).toEqual({
      model_id: GUIDE_MODEL_ID,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'a\nb' },
      ],
      max_tokens: 10,
      stop: 'END',
      stream: true,
    });
    expect(toChatRequest(parse({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 9 }), model).max_tokens).toBe(9);
  });

  it('refuses two token limits that differ', () => {
    const error = errorOf(() =>
      toChatRequest(parse({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 9, max_completion_tokens: 10 }), model),
    );
    expect(error).toMatchObject({ code: 'validation_failed', status: 422 });
  });

  it("applies the native route's own limits, naming the caller's field", () => {
    const tooLong = 'x'.repeat(MAX_CONTENT_CHARACTERS + 1);
    expect(
      errorOf(() => toChatRequest(parse({ model: 'x', messages: [{ role: 'user', content: tooLong }] }), model)).details.issues,
    ).toEqual([{ path: 'messages', message: expect.stringContaining(String(MAX_CONTENT_CHARACTERS)) }]);
    const lone = errorOf(() =>
      toChatRequest(parse({ model: 'x', messages: [{ role: 'user', content: [{ type: 'text', text: '\ud800' }] }] }), model),
    );
    expect(lone.details.issues?.[0]?.path).toBe('messages.0.content');
  });

  it("takes the native route's ranges in its own schema, so that the OpenAPI document gives them", () => {
    const refused = openAIChatBody.safeParse({
      model: 'x',
      messages: [{ role: 'user', content: 'hi' }],
      stop: [''],
      temperature: -1,
      top_p: -0.1,
    });
    expect(refused.error?.issues.map((issue) => issue.path.join('.'))).toEqual(['temperature', 'top_p', 'stop.0']);
    expect(
      openAIChatBody.safeParse({ model: 'x', messages: [{ role: 'user', content: 'hi' }], temperature: null, stop: null }).success,
    ).toBe(true);
  });
});

describe('the content parts of one message', () => {
  const part = { type: 'text', text: 'x' };
  /** `count` parts, each of which counts the times it is read. */
  function countedParts(count: number) {
    const reads = { count: 0 };
    const parts: unknown[] = [];
    for (let index = 0; index < count; index++) {
      Object.defineProperty(parts, index, { enumerable: true, get: () => (reads.count++, part) });
    }
    return { parts, reads };
  }

  it(`takes ${MAX_CONTENT_PARTS} parts in a message`, () => {
    const { parts } = countedParts(MAX_CONTENT_PARTS);
    expect(openAIChatBody.safeParse({ model: 'x', messages: [{ role: 'user', content: parts }] }).success).toBe(true);
  });

  it('refuses more, saying so, without reading a single part', () => {
    // A 2 MiB body holds a million parts; checking each before refusing the message took ~300 MB and ~1 s.
    const { parts, reads } = countedParts(MAX_CONTENT_PARTS + 1);
    const refused = openAIChatBody.safeParse({ model: 'x', messages: [{ role: 'user', content: parts }] });
    expect(refused.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['messages.0.content', `A message may have at most ${MAX_CONTENT_PARTS} content parts.`],
    ]);
    expect(reads.count).toBe(0);
  });

  it('still says that only text parts are taken, for a part of another kind', () => {
    const refused = openAIChatBody.safeParse({ model: 'x', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] });
    expect(refused.error?.issues[0]?.message).toContain('takes text content only');
  });
});

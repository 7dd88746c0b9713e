import { describe, expect, it } from 'vitest';
import { convertToGoogleRequest } from './convert-to-google-request.js';

const base = { model: 'gemini-2.5-flash', maxTokens: 256 };

describe('convertToGoogleRequest', () => {
  it('sends only maxOutputTokens when no other setting was asked for, and no systemInstruction without system messages', () => {
    expect(convertToGoogleRequest({ ...base, messages: [{ role: 'user', content: 'Hi' }] })).toEqual({
      body: { contents: [{ role: 'user', parts: [{ text: 'Hi' }] }], generationConfig: { maxOutputTokens: 256 } },
      warnings: [],
    });
  });

  it('joins system messages wherever they stand, in order, into one systemInstruction', () => {
    const { body } = convertToGoogleRequest({
      ...base,
      messages: [
        { role: 'system', content: 'One.' },
        { role: 'user', content: 'Hi' },
        { role: 'system', content: 'Two.' },
      ],
    });
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'One.\n\nTwo.' }] });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'Hi' }] }]);
  });

  it('merges consecutive turns of one role, also across a system message between them', () => {
    const { body } = convertToGoogleRequest({
      ...base,
      messages: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: 'A' },
        { role: 'assistant', content: 'B' },
        { role: 'user', content: 'C' },
        { role: 'system', content: 'S' },
        { role: 'user', content: 'D' },
      ],
    });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Q' }] },
      { role: 'model', parts: [{ text: 'A' }, { text: 'B' }] },
      { role: 'user', parts: [{ text: 'C' }, { text: 'D' }] },
    ]);
  });

  it('leaves out empty messages (Gemini refuses empty text parts) with a warning', () => {
    const { body, warnings } = convertToGoogleRequest({
      ...base,
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: '' },
        { role: 'user', content: 'There?' },
      ],
    });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'Hi' }, { text: 'There?' }] }]);
    expect(warnings).toEqual(['messages.1: Google refuses empty messages; this one was left out.']);
  });

  it('keeps the first five stop sequences and warns about the rest', () => {
    const { body, warnings } = convertToGoogleRequest({
      ...base,
      messages: [{ role: 'user', content: 'Hi' }],
      stop: ['1', '2', '3', '4', '5', '6'],
    });
    expect(body.generationConfig.stopSequences).toEqual(['1', '2', '3', '4', '5']);
    expect(warnings).toHaveLength(1);
  });

  it('passes temperature 0 and an empty stop list as asked (0 is a setting, not an absence)', () => {
    const { body } = convertToGoogleRequest({ ...base, messages: [{ role: 'user', content: 'Hi' }], temperature: 0, topP: 0, stop: [] });
    expect(body.generationConfig).toEqual({ maxOutputTokens: 256, temperature: 0, topP: 0 });
  });
});

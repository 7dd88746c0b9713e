// A streamed chat answer checked by what each read brought, not by when: the check the adapters' own tests share.
import { expect } from 'vitest';

/**
 * Reads a streamed chat answer to its end and checks that it came chunk by chunk: the first read holds the first
 * chunk alone (`data: {"id":"chatcmpl-…`, no `[DONE]`), the rest ends with `data: [DONE]`. Pace the mock
 * providers' events apart first (`setChunkGapMs(100)`): an adapter, or a host's compression, that holds the stream
 * back brings the whole answer in the first read, however loaded the machine.
 *
 * @param response - The answer to a `stream: true` chat request, its body unread.
 */
export async function expectChunkByChunk(response: Response): Promise<void> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const first = decoder.decode((await reader.read()).value, { stream: true });
  let rest = '';
  for (let part = await reader.read(); !part.done; part = await reader.read()) rest += decoder.decode(part.value, { stream: true });
  rest += decoder.decode();
  expect(first).toMatch(/^data: \{"id":"chatcmpl-/);
  expect(first).not.toContain('[DONE]');
  expect(rest.trimEnd().endsWith('data: [DONE]')).toBe(true);
}

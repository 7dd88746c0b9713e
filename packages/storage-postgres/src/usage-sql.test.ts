// A summary's sums come back from PostgreSQL as int8 text; a JS number holds them exactly only up to 2^53 - 1.
// Past that, a total would be reported rounded (9007199254740993 as ...992): it is refused instead.
import { describe, expect, it } from 'vitest';
import { totalsFromRow } from './usage-sql.js';

const zeros = {
  requests: '0',
  input_tokens: '0',
  output_tokens: '0',
  cached_input_tokens: '0',
  cache_write_tokens: '0',
  reasoning_tokens: '0',
  cost_usd: '0',
};

describe('a usage summary total', () => {
  it('of 2^53 - 1 tokens is reported exactly, and of 2^53 + 1 refused with a RangeError rather than rounded', () => {
    expect(totalsFromRow({ ...zeros, input_tokens: '9007199254740991' }).inputTokens).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => totalsFromRow({ ...zeros, input_tokens: '9007199254740993' })).toThrow(
      new RangeError('A usage sum of 9007199254740993 is too large to report exactly'),
    );
  });
});

// writeOut is how byokit's commands print, a page or a line at a time: key-owners and key-audit of a large table write
// hundreds of pages, rotate-keys a line per page of its progress.
import { describe, expect, it } from 'vitest';
import { writeOut } from './output.js';

describe('writeOut', () => {
  it("leaves no 'error' listener on stdout once written, so a list of many pages warns of no listener leak", async () => {
    const before = process.stdout.listenerCount('error');
    // Past Node's 10 listeners of one event, which it reports on stderr as a MaxListenersExceededWarning.
    for (let page = 0; page < 20; page++) await writeOut('');
    expect(process.stdout.listenerCount('error')).toBe(before);
  });
});

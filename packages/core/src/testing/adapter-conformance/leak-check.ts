// spec/security.md, "Secrets never leave", through the adapter: every scenario (keys set, verified, refused,
// used for plain and streamed chats, echoed in part by a provider's error…) is sent over HTTP, and every answer
// body and header, and every log line of byokit and of the host, is searched for any 8-character piece of any
// key the scenarios sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKeyLeaks } from '../leak-check.js';
import { exchangeOf, sendOverHttp } from './exchange.js';
import { CANARY_KEYS, ENVIRONMENT, SCENARIOS } from './scenarios.js';
import type { MountAdapter, MountedAdapter } from './types.js';
import { authenticate, randomKeyring, startSide, type Side } from './world.js';

export function describeLeakCheck(mount: MountAdapter, prefix: string): void {
  describe('no key leaks: no answer, header or log line holds a key or a piece of one', () => {
    let side: Side;
    let adapter: MountedAdapter;
    const captured: Array<[string, string]> = [];
    const statuses: Array<[string, number]> = [];

    beforeAll(async () => {
      side = await startSide({ keyring: randomKeyring(), environment: ENVIRONMENT, prefix });
      adapter = await mount({ byokit: side.byokit, authenticate, prefix });
      for (const [index, scenario] of SCENARIOS.entries()) {
        scenario.arrange?.(side);
        const answer = await sendOverHttp(adapter.baseUrl, exchangeOf(scenario, index, prefix));
        const where = `${scenario.method} ${scenario.path.slice(0, 80)} (${scenario.name}) → ${answer.status}`;
        captured.push([`${where}: body`, answer.pieces.join('')], [`${where}: headers`, JSON.stringify(answer.headers)]);
        statuses.push([scenario.name, answer.status]);
      }
    }, 60_000);
    afterAll(async () => {
      await adapter?.close();
      await side?.close();
    });

    it('sent every scenario and got the answer each expects', () => {
      expect(statuses).toEqual(SCENARIOS.map((scenario) => [scenario.name, scenario.status]));
    });

    it('finds no key in any answer body or header', () => {
      expect(findKeyLeaks(CANARY_KEYS, captured)).toEqual([]);
    });

    it("finds no key in byokit's log lines, nor in the host's", () => {
      const lines = [...side.logLines, ...(adapter.logLines?.() ?? [])];
      expect(lines.length).toBeGreaterThan(0);
      expect(
        findKeyLeaks(
          CANARY_KEYS,
          lines.map((line, index) => [`log line ${index}`, line] as [string, string]),
        ),
      ).toEqual([]);
    });

    it('the check itself sees a key when one is there', () => {
      const planted = CANARY_KEYS[0]!;
      expect(findKeyLeaks(CANARY_KEYS, [['planted', `oops ${planted.slice(30, 40)}`]])).not.toEqual([]);
    });
  });
}

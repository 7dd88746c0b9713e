// The pages' script's pure helpers, run in Node (the page itself is tested in chromium: pages-suite.ts).
import { runInNewContext } from 'node:vm';

/** The pages' script's helpers, run in Node with no document (so nothing starts). */
export function scriptHelpers(script: string) {
  const context: Record<string, unknown> = {};
  runInNewContext(script, context);
  return context as {
    keysPatchBody(values: Record<string, string>): Record<string, string>;
    readEvents(text: string): { events: string[]; rest: string };
    describeKey(label: string, key: unknown): string;
    answerUsageText(usage: Record<string, unknown>, finishReason: string | null): string;
    NO_MODELS: string;
  };
}

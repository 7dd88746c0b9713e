import type { z } from 'zod';
import { ByokitError, type ValidationIssue } from '../errors.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';
import { wholeCharacterEnd } from '../whole-characters.js';

/**
 * A refusal as `validation_failed`, an issue per problem, in the HTTP routes and in code (`byokit.chat()`)
 * alike. Paths and messages can be the caller's text (an unknown field's or query parameter's name is quoted):
 * scrubbed and capped, as a key pasted as a field name must not echo into an answer or a log.
 *
 * @param where - What was checked, named where an issue has no path: `body`, `query`, `path`, `request`.
 * @param subject - What the message says is not valid; `request <where>` by default.
 */
export function validationFailed(issues: readonly ValidationIssue[], where: string, subject = `request ${where}`): ByokitError {
  const safe = issues.map((issue) => ({ path: safeText(issue.path), message: safeText(issue.message) }));
  return new ByokitError(
    'validation_failed',
    // One sentence: each issue's own closing period dropped, one at the end.
    `The ${subject} is not valid: ${safe.map((issue) => `${issue.path || where}: ${issue.message.replace(/\.$/, '')}`).join('; ')}.`,
    { issues: safe },
  );
}

/** A schema's issues in the contract's shape: a dotted path, with an unknown field's name at its end. */
export function schemaIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({
    path: [...issue.path, ...(issue.code === 'unrecognized_keys' ? [issue.keys.join(',')] : [])].map(String).join('.'),
    message: issue.message,
  }));
}

/**
 * The options of a parse (`schema.safeParse(input, readableParse(where))`) that word zod's refusals in byokit's words: a
 * sentence saying what to send instead, never the value sent (it may be a key). A schema's own message wins over
 * these. Zod's were "Invalid input: expected string, received undefined" for a field left out, and "Unrecognized key"
 * without the names a body or query takes.
 *
 * @param where - `query` names a query parameter; anything else, a field.
 */
export function readableParse(where: string): { error: z.core.$ZodErrorMap } {
  // Made once per kind of place: every request's parse is handed them.
  let options = READABLE_PARSES.get(where);
  if (options === undefined) READABLE_PARSES.set(where, (options = { error: readableIssueMap(where) }));
  return options;
}

const READABLE_PARSES = new Map<string, { error: z.core.$ZodErrorMap }>();

function readableIssueMap(where: string): z.core.$ZodErrorMap {
  const field = where === 'query' ? 'query parameter' : 'field';
  return (issue) => {
    switch (issue.code) {
      case 'invalid_type':
        if (issue.input === undefined) return `Required: send ${withArticle(issue.expected)}.`;
        // A number with a fraction where a whole one is wanted: "got a number" would say nothing.
        if (issue.expected === 'int' && typeof issue.input === 'number') return 'Must be a whole number.';
        return `Must be ${withArticle(issue.expected)}; got ${kindOf(issue.input)}.`;
      case 'invalid_value': {
        const accepted = issue.values.length === 1 ? String(issue.values[0]) : `one of ${issue.values.join(', ')}`;
        return issue.input === undefined ? `Required: send ${accepted}.` : `Must be ${accepted}.`;
      }
      case 'unrecognized_keys': {
        const shape = (issue.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
        // Read from zod's internals: where a release moves them, zod's own words rather than a wrong "takes none".
        if (shape === undefined) return undefined;
        const names = Object.keys(shape);
        // An object inside the body is named by its path (`messages.0`).
        const inside = issue.path?.map(String).join('.');
        const takes = where === 'query' ? 'this route takes' : inside ? `${inside} takes` : 'the body takes';
        if (names.length === 0) return `Unknown ${field}: ${takes} none.`;
        // A list too long to read whole (the OpenAI-compatible body's) is the API description's to give.
        const list = names.join(', ');
        return list.length > 120
          ? `Unknown ${field}: GET /openapi.json lists the ones ${takes.replace(/ takes$/, '')} takes.`
          : `Unknown ${field}: ${takes} only ${list}.`;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const least = issue.code === 'too_small';
        if (issue.origin === 'array' && least && Number(bound) === 1) return 'Cannot be empty: send at least one.';
        if (issue.origin === 'string' && least && Number(bound) === 1) return 'Cannot be empty.';
        const unit = issue.origin === 'array' ? ' items' : issue.origin === 'string' ? ' characters' : '';
        const strict = issue.inclusive === false;
        const relation = least ? (strict ? 'more than' : 'at least') : strict ? 'less than' : 'at most';
        return `Must ${unit ? 'have' : 'be'} ${relation} ${String(bound)}${unit}.`;
      }
      default:
        return undefined;
    }
  };
}

const ARTICLE: Record<string, string> = { int: 'a whole number', object: 'an object', array: 'an array' };

function withArticle(expected: string): string {
  return ARTICLE[expected] ?? `a ${expected}`;
}

/** The JSON kind of a value sent, never the value. */
function kindOf(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'object') return 'an object';
  if (typeof input === 'number' && !Number.isFinite(input)) return 'a number that is not finite';
  return `a ${typeof input}`;
}

function safeText(text: string): string {
  const scrubbed = scrubSecrets(text);
  return scrubbed.length > 200 ? `${scrubbed.slice(0, wholeCharacterEnd(scrubbed, 200))}…` : scrubbed;
}

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
    `The ${subject} is not valid: ${safe.map((issue) => `${issue.path || where}: ${issue.message}`).join('; ')}`,
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

function safeText(text: string): string {
  const scrubbed = scrubSecrets(text);
  return scrubbed.length > 200 ? `${scrubbed.slice(0, wholeCharacterEnd(scrubbed, 200))}…` : scrubbed;
}

import type { z } from 'zod';
import { ByokitError, type ValidationIssue } from '../errors.js';
import { scrubSecrets } from '../keys/scrub-secrets.js';

/**
 * A schema's refusal as `validation_failed`, an issue per problem, in the HTTP routes and in code
 * (`byokit.chat()`) alike. Field names and messages can be the caller's text (an unknown field's name is
 * quoted): scrubbed and capped, as a key pasted as a field name must not echo into an answer or a log.
 *
 * @param where - What was checked, named where an issue has no path: `body`, `query`, `path`, `chat request`.
 */
export function validationFailed(issues: readonly z.core.$ZodIssue[], where: string, subject = `request ${where}`): ByokitError {
  const checked: ValidationIssue[] = issues.map((issue) => ({
    path: safeText([...issue.path, ...(issue.code === 'unrecognized_keys' ? [issue.keys.join(',')] : [])].map(String).join('.')),
    message: safeText(issue.message),
  }));
  return new ByokitError(
    'validation_failed',
    `The ${subject} is not valid: ${checked.map((issue) => `${issue.path || where}: ${issue.message}`).join('; ')}`,
    { issues: checked },
  );
}

function safeText(text: string): string {
  const scrubbed = scrubSecrets(text);
  return scrubbed.length > 200 ? `${scrubbed.slice(0, 200)}…` : scrubbed;
}

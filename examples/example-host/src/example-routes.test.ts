import { describe, expect, it } from 'vitest';
import { ExampleRoutes } from './example-routes.js';
import type { AccessTokens } from './tokens.js';
import type { UserDirectory } from './users.js';

// A body refused before any account is read or made: the routes' users and tokens are never reached.
const routes = new ExampleRoutes({} as UserDirectory, {} as AccessTokens, () => Promise.resolve(null));

// It read "The request is not valid.", and each issue zod's words ("Too small: expected string to have >=8
// characters", "Invalid email address", "Unrecognized key: \"name\"").
describe("the example's signup and login refusals say what to send instead", () => {
  it.each([
    ['a short password', { email: 'you@example.com', password: 'short' }, 'password', 'A password has at least 8 characters.'],
    ['no email', { password: 'yourpassword' }, 'email', 'Send an email address, such as you@example.com.'],
    ['an email that is none', { email: 'you', password: 'yourpassword' }, 'email', 'Send an email address, such as you@example.com.'],
    [
      'an unknown field',
      { email: 'you@example.com', password: 'yourpassword', name: 'You' },
      'name',
      'Unknown field: signup takes only email, password, full_name.',
    ],
    ['a JSON array', [], '', 'Send a JSON object: { "email", "password", "full_name"? }.'],
  ])('signup: %s', async (_name, body, path, message) => {
    const answer = await routes.signup(body, 'request-1');
    expect([answer.status, answer.body]).toEqual([
      422,
      {
        error: {
          code: 'validation_failed',
          message: `The request body is not valid: ${path || 'body'}: ${message}`,
          issues: [{ path, message }],
          request_id: 'request-1',
        },
      },
    ]);
  });

  it('login: no password', async () => {
    const answer = await routes.login({ username: 'you@example.com' }, 'request-2');
    expect(answer.body).toMatchObject({
      error: {
        code: 'validation_failed',
        message: 'The request body is not valid: password: Send username (your email) and password as form fields.',
      },
    });
  });
});

import { describe, expect, it } from 'vitest';
import { ExampleRoutes } from './example-routes.js';
import { FAILED_LOGIN_WINDOW_MS, LoginThrottle, MAX_FAILED_LOGINS } from './login-throttle.js';
import type { AccessTokens } from './tokens.js';
import type { UserDirectory } from './users.js';

// A body refused before any account is read or made: the routes' users and tokens are never reached.
const routes = new ExampleRoutes({} as UserDirectory, {} as AccessTokens, () => Promise.resolve(null));

// It read "The request is not valid.", and each issue zod's words ("Too small: expected string to have >=8
// characters", "Invalid email address", "Unrecognized key: \"name\"").
describe("the example's signup and login refusals say what to send instead", () => {
  it.each([
    ['a short password', { email: 'you@example.com', password: 'short' }, 'password', 'A password has at least 8 characters.'],
    ['a password of 7 characters', { email: 'you@example.com', password: '1234567' }, 'password', 'A password has at least 8 characters.'],
    [
      'a password of 129 characters',
      { email: 'you@example.com', password: 'p'.repeat(129) },
      'password',
      'A password has at most 128 characters.',
    ],
    [
      'an email of 255 characters',
      { email: `${'a'.repeat(243)}@example.com`, password: 'yourpassword' },
      'email',
      'An email address has at most 254 characters.',
    ],
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

  it('login: a password of 129 characters, longer than any account can have', async () => {
    const answer = await routes.login({ username: 'you@example.com', password: 'p'.repeat(129) }, 'request-4');
    expect([answer.status, answer.body]).toMatchObject([
      422,
      { error: { code: 'validation_failed', message: 'The request body is not valid: password: A password has at most 128 characters.' } },
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

describe("the example's login, refused for the rest of a window after too many failures", () => {
  // The throttle on a clock the test moves by hand; every password is wrong (no such account).
  const clock = { now: 1_000_000 };
  const users = { authenticate: () => Promise.resolve(null) } as unknown as UserDirectory;
  const throttled = new ExampleRoutes(users, {} as AccessTokens, () => Promise.resolve(null), new LoginThrottle({ now: () => clock.now }));
  const login = () => throttled.login({ username: 'you@example.com', password: 'a-guess' }, 'request-3');

  it('is refused up to the last second of the window, Retry-After saying 1', async () => {
    for (let attempt = 0; attempt < MAX_FAILED_LOGINS; attempt++) expect((await login()).status).toBe(400);
    clock.now += FAILED_LOGIN_WINDOW_MS - 500;
    const refused = await login();
    expect([refused.status, refused.headers['retry-after']]).toEqual([429, '1']);
    clock.now += 500;
    expect((await login()).status).toBe(400);
  });
});

import { randomBytes } from 'node:crypto';
import { SignJWT, UnsecuredJWT, decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { AccessTokens } from './tokens.js';

const secret = randomBytes(32);
const tokens = new AccessTokens(secret, 60);
/** A user's id as the example gives one (a random UUID): what a forger would put in a token. */
const userId = '6f1c1c43-7f36-4b5e-9a43-2f0c2a6d1b7e';

describe("the example's access tokens", () => {
  it('take back the user id of a token they issued', async () => {
    expect(await tokens.verify(await tokens.issue(userId))).toBe(userId);
  });

  // The token names the user it signs in: any check short of the signature lets anyone who knows a user's id (or
  // an admin's) sign in as them.
  it("refuse a token naming a real user's id that this server did not sign: another secret's, or none", async () => {
    const otherSecret = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(userId).setIssuedAt().setExpirationTime('1h');
    const unsigned = new UnsecuredJWT({}).setSubject(userId).setIssuedAt().setExpirationTime('1h').encode();
    const [header, payload] = (await tokens.issue(userId)).split('.');
    const signatureRemoved = `${header}.${payload}.`;
    const verified = await Promise.all(
      [await otherSecret.sign(randomBytes(32)), unsigned, signatureRemoved].map((token) => tokens.verify(token)),
    );
    expect(verified).toEqual([null, null, null]);
  });

  // HS256 only (RFC 8725 §3.1: the algorithm is the verifier's choice, never the token's).
  it('refuse a token signed with the secret under another algorithm than HS256', async () => {
    const hs512 = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS512' })
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);
    expect(await tokens.verify(hs512)).toBeNull();
  });

  it('refuse a token of theirs once it has expired', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 2 * 3600;
    const expired = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + 3600)
      .sign(secret);
    expect(await tokens.verify(expired)).toBeNull();
  });

  it('issue a token that lasts the minutes ACCESS_TOKEN_EXPIRE_MINUTES says, and no longer', async () => {
    const { iat, exp } = decodeJwt(await new AccessTokens(secret, 90).issue(userId));
    expect(exp! - iat!).toBe(90 * 60);
  });
});

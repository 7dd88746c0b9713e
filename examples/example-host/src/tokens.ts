import { SignJWT, jwtVerify } from 'jose';

const ALGORITHM = 'HS256';

/** Issues and checks the example's bearer access tokens (JWT, HS256, subject = user id). */
export class AccessTokens {
  constructor(
    private readonly secret: Uint8Array,
    private readonly lifetimeMinutes: number,
  ) {}

  issue(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setIssuedAt()
      .setExpirationTime(`${Math.round(this.lifetimeMinutes * 60)}s`)
      .sign(this.secret);
  }

  /** The user id in a valid, unexpired token, else null. */
  async verify(token: string): Promise<string | null> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { algorithms: [ALGORITHM] });
      return typeof payload.sub === 'string' ? payload.sub : null;
    } catch {
      return null;
    }
  }
}

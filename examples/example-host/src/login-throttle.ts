/**
 * How many logins to one account may fail in a row before the next are refused for the rest of the window. Without
 * a limit a password could be guessed online as fast as the server hashes (some 10 tries a second a core: a hash takes about 100 ms).
 */
export const MAX_FAILED_LOGINS = 10;
/** The window the failed logins are counted in, from the first of them: 15 minutes. */
export const FAILED_LOGIN_WINDOW_MS = 15 * 60_000;
/** The most accounts counted at once (each a few dozen bytes); when full, the one least recently tried is forgotten. */
const MAX_ACCOUNTS = 10_000;

interface Count {
  attempts: number;
  /** When the window began (the first attempt counted), in ms. */
  since: number;
}

/**
 * Failed logins counted per account, in the memory of one server (several nodes each count their own): after
 * {@link MAX_FAILED_LOGINS} in {@link FAILED_LOGIN_WINDOW_MS}, login to that account is refused, the right password
 * included, until the window ends. An email no account has is counted the same, so that the answer tells nobody
 * which emails have accounts. A login that succeeds clears its account's count.
 */
export class LoginThrottle {
  readonly #counts = new Map<string, Count>();
  readonly #now: () => number;
  readonly #maxAccounts: number;

  constructor(options: { now?: () => number; maxAccounts?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxAccounts = options.maxAccounts ?? MAX_ACCOUNTS;
  }

  /**
   * Counts a login attempt to the account `email` names as it begins (attempts made at once are counted each, before
   * any password is hashed), and answers 0; or, when its window is used up, counts nothing and answers the whole
   * seconds to wait.
   */
  attempt(email: string): number {
    const account = accountOf(email);
    const now = this.#now();
    let count = this.#counts.get(account);
    // A window begun after now is a clock stepped back (NTP): it begins now instead, its attempts kept, so that an
    // account waits one window at most (it waited the step's length on top: an hour's step, 75 minutes).
    if (count && count.since > now) count = { ...count, since: now };
    if (count && now - count.since >= FAILED_LOGIN_WINDOW_MS) count = undefined;
    const refused = count !== undefined && count.attempts >= MAX_FAILED_LOGINS;
    // Deleted and set again, refused or not, so that the Map's first entry is the account least recently tried: one
    // still being guessed at is the last to be forgotten.
    this.#counts.delete(account);
    this.#counts.set(account, refused ? count! : { attempts: (count?.attempts ?? 0) + 1, since: count?.since ?? now });
    if (this.#counts.size > this.#maxAccounts) this.#counts.delete(this.#counts.keys().next().value!);
    return refused ? Math.max(1, Math.ceil((count!.since + FAILED_LOGIN_WINDOW_MS - now) / 1000)) : 0;
  }

  /** The account logged in: its count starts again. */
  succeeded(email: string): void {
    this.#counts.delete(accountOf(email));
  }

  /** How many accounts are counted now. */
  get tracked(): number {
    return this.#counts.size;
  }
}

/** An email as login looks its account up (UserDirectory: trimmed, lower case). */
function accountOf(email: string): string {
  return email.trim().toLowerCase();
}

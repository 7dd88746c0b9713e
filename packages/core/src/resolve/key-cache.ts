import type { SecretKey } from '../keys/secret-key.js';

interface Entry {
  key: SecretKey | null;
  expiresAt: number;
}

/** Taken before a read of storage, and handed to {@link KeyCache.set} with what it found. */
export interface ReadMark {
  invalidations: number;
  startedAt: number;
}

/**
 * Decrypted keys (and known absences), kept for a short time so the hot path does not decrypt or query
 * storage on every request. Bounded in size; the oldest entry goes first. Writes through this byokit
 * invalidate at once; writes through others (other nodes, or a second byokit in this process) are seen within
 * the TTL (spec/architecture.md, scale-out).
 */
export class KeyCache {
  readonly #entries = new Map<string, Entry>();
  /**
   * Invalidations so far. A read of storage that began before one may return what the write replaced, and
   * must not cache it: without this, a key deleted while a request was reading it stayed in use until the TTL.
   */
  #invalidations = 0;
  /**
   * The slots from the oldest on, kept across evictions so that each one starts where the last ended. A fresh
   * `keys().next()` walks past every entry deleted before the first live one (V8 keeps them until it rehashes):
   * with the cache full, 6 µs an eviction at 10,000 entries and 41 µs at 100,000, where this takes under 1.
   */
  #oldestFirst = this.#entries.keys();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  /** The cached value: a key, `null` for a known absence, `undefined` when not cached or expired. */
  get(slot: string): SecretKey | null | undefined {
    const entry = this.#entries.get(slot);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(slot);
      return undefined;
    }
    return entry.key;
  }

  /** Take before reading storage, and pass to {@link set}: what a read found is cached only if nothing was invalidated since. */
  mark(): ReadMark {
    return { invalidations: this.#invalidations, startedAt: this.now() };
  }

  /**
   * Caches what a read found until the TTL has passed since the read *began*: what it found may be as old as
   * that, so another process's write is seen within the TTL however long the read took. (Counted from the
   * read's end, a key deleted elsewhere while a slow read was answering stayed in use for the TTL plus the read.)
   */
  set(slot: string, key: SecretKey | null, read: ReadMark): void {
    if (this.ttlMs <= 0 || read.invalidations !== this.#invalidations) return;
    const expiresAt = read.startedAt + this.ttlMs;
    if (expiresAt <= this.now()) return;
    this.#entries.delete(slot);
    if (this.#entries.size >= this.maxEntries) this.#evictOldest();
    this.#entries.set(slot, { key, expiresAt });
  }

  delete(slot: string): void {
    this.#invalidations++;
    this.#entries.delete(slot);
  }

  clear(): void {
    this.#invalidations++;
    this.#entries.clear();
    this.#oldestFirst = this.#entries.keys();
  }

  #evictOldest(): void {
    let oldest = this.#oldestFirst.next();
    // Done once it passed every entry (the cache was emptied meanwhile): start again from the first.
    if (oldest.done) {
      this.#oldestFirst = this.#entries.keys();
      oldest = this.#oldestFirst.next();
    }
    if (!oldest.done) this.#entries.delete(oldest.value);
  }
}

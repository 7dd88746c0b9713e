import type { SecretKey } from '../keys/secret-key.js';

interface Entry {
  key: SecretKey | null;
  /** When the read that found it began: the entry is as old as that. */
  readAt: number;
  expiresAt: number;
}

/**
 * Whether what a read begun at `readAt` found is still fresh at `now`: at most `expiresAt - readAt` old, and not read
 * after `now`. A clock stepped back (NTP) leaves entries read "in the future", whose age cannot be told: counted on the
 * wall clock alone, they stayed in use for the length of the step on top of the TTL. A reading that is no time (NaN,
 * from a host clock's invalid Date) makes nothing fresh: before, every entry then stayed for ever.
 */
const freshAt = (now: number, readAt: number, expiresAt: number) => readAt <= now && now < expiresAt;

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
   * The reads of storage under way, one a slot (the last begun), each let go when it settles: lookups of a slot not
   * cached that start meanwhile share it (see {@link readUnderWay}) rather than each read storage and open the key.
   */
  readonly #reading = new Map<string, { read: ReadMark; found: Promise<SecretKey | null> }>();
  /**
   * The slots from the oldest on, kept across evictions so that each one starts where the last ended. A fresh
   * `keys().next()` walks past every entry deleted before the first live one (V8 keeps them until it rehashes):
   * with the cache full, 6 µs an eviction at 10,000 entries and 41 µs at 100,000, where this takes under 1.
   */
  #oldestFirst = this.#entries.keys();
  /** The slot {@link #oldestFirst} gave last, with its entry: still the oldest while the cache holds that same entry. */
  #oldest: { slot: string; entry: Entry } | undefined;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  /** The cached value: a key, `null` for a known absence, `undefined` when not cached or expired. */
  get(slot: string): SecretKey | null | undefined {
    const entry = this.#entries.get(slot);
    if (!entry) return undefined;
    if (!freshAt(this.now(), entry.readAt, entry.expiresAt)) {
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
    if (this.ttlMs <= 0) return;
    const now = this.now();
    this.#forgetExpired(now);
    if (read.invalidations !== this.#invalidations) return;
    const expiresAt = read.startedAt + this.ttlMs;
    if (!freshAt(now, read.startedAt, expiresAt)) return;
    this.#entries.delete(slot);
    if (this.#entries.size >= this.maxEntries) this.#evictOldest();
    this.#entries.set(slot, { key, readAt: read.startedAt, expiresAt });
  }

  /**
   * What a read of `slot` under way will find, for a lookup starting now to share; undefined when there is none
   * it may share: one begun before an invalidation (a write through this byokit that answered may be what it
   * missed), or a TTL or longer ago (what it finds would be older than anything the cache serves). The cache off
   * (a TTL of 0), none is shared.
   */
  readUnderWay(slot: string): Promise<SecretKey | null> | undefined {
    const reading = this.#reading.get(slot);
    if (reading === undefined) return undefined;
    const { invalidations, startedAt } = reading.read;
    return invalidations === this.#invalidations && freshAt(this.now(), startedAt, startedAt + this.ttlMs) ? reading.found : undefined;
  }

  /**
   * Reads `slot` with `load`, caching what it finds as {@link set} does, and lets lookups starting meanwhile share
   * the read. A failure reaches each of them and is not cached.
   */
  read(slot: string, load: () => Promise<SecretKey | null>): Promise<SecretKey | null> {
    const read = this.mark();
    const found = load().then((key) => {
      this.set(slot, key, read);
      return key;
    });
    const reading = { read, found };
    this.#reading.set(slot, reading);
    const settled = () => {
      if (this.#reading.get(slot) === reading) this.#reading.delete(slot);
    };
    found.then(settled, settled);
    return found;
  }

  delete(slot: string): void {
    this.#invalidations++;
    this.#entries.delete(slot);
  }

  clear(): void {
    this.#invalidations++;
    this.#entries.clear();
    this.#oldestFirst = this.#entries.keys();
    this.#oldest = undefined;
  }

  /** How many slots the cache holds now, expired ones not yet let go of included. */
  get size(): number {
    return this.#entries.size;
  }

  /** The slot cached longest ago, with its entry; undefined when the cache is empty. */
  #oldestEntry(): { slot: string; entry: Entry } | undefined {
    const oldest = this.#oldest;
    // Deleted or cached again (a new entry, at the end) since: the next slot is the oldest.
    if (oldest !== undefined && this.#entries.get(oldest.slot) === oldest.entry) return oldest;
    let next = this.#oldestFirst.next();
    // Done once it passed every entry (the cache was emptied meanwhile): start again from the first.
    if (next.done) {
      this.#oldestFirst = this.#entries.keys();
      next = this.#oldestFirst.next();
    }
    this.#oldest = next.done ? undefined : { slot: next.value, entry: this.#entries.get(next.value)! };
    return this.#oldest;
  }

  #evictOldest(): void {
    const oldest = this.#oldestEntry();
    if (oldest) this.#entries.delete(oldest.slot);
  }

  /**
   * Lets go of the slots whose TTL has passed, oldest first, up to the first that still runs: a decrypted key
   * no longer served stays in memory no longer than until the next key is cached, where before it stayed until
   * the cache was full (with fewer users than `maxEntries` after a busy spell, for the life of the process).
   * Slots are cached in about the order they expire (a read's start plus the TTL), so few wait behind one that runs.
   */
  #forgetExpired(now: number): void {
    for (let oldest = this.#oldestEntry(); oldest !== undefined && oldest.entry.expiresAt <= now; oldest = this.#oldestEntry()) {
      this.#entries.delete(oldest.slot);
    }
  }
}

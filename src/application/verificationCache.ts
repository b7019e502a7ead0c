import { changesVerification } from '../domain/apiKey/events';
import type { VerifiableKey } from '../domain/verification';
import { keyIdOfStream } from '../eventLog/streams';
import type { Position } from '../ports/eventStore';
import { comparePositions } from '../ports/eventStore';

const DEFAULT_MAX_ENTRIES = 250_000;

/**
 * Compiled keys by secret hash, kept current by the event stream alone (ProjectionRunner's
 * `onApplied`), so it is correct whatever the read model is (in process, or a MongoDB that
 * several instances share):
 * - every event that may change a key's verification evicts all of that key's hashes (a rotated
 *   key has two) before the command that caused it returns (`waitFor` resolves in the same turn);
 * - an entry is only stored if no such event was applied while its lookup was in flight: a lookup
 *   that started before a revocation never caches the pre-revocation state;
 * - nothing is served while the runner is unhealthy (the stream is then not feeding the cache):
 *   the cache empties and verification reads the read model;
 * - a change whose projection is late (the mutation's wait timed out) is `forget`-ed directly: the
 *   key is evicted and not cached again until the projection has applied the change.
 */
export class VerificationCache {
  private readonly entries = new Map<string, VerifiableKey>();
  private readonly hashesOfKey = new Map<string, string | string[]>();
  /** Bumped by every evicting event: a lookup started under another generation is not cached. */
  private generation = 0;
  /** Keys forgotten ahead of the projection: not cached again until it reaches the position (their change). */
  private readonly pinned = new Map<string, Position>();

  constructor(
    private readonly current: () => boolean,
    private readonly maxEntries = DEFAULT_MAX_ENTRIES,
  ) {}

  get(hash: string): VerifiableKey | undefined {
    if (this.entries.size === 0) return undefined;
    if (!this.current()) {
      this.clear();
      return undefined;
    }
    return this.entries.get(hash);
  }

  /** Call before a lookup; pass the result to `store` with the lookup's answer. */
  begin(): number {
    return this.generation;
  }

  store(hash: string, key: VerifiableKey, generation: number): void {
    if (generation !== this.generation || !this.current() || this.pinned.has(key.keyId)) return;
    if (this.entries.size >= this.maxEntries) this.evictOldest();
    this.entries.set(hash, key);
    const known = this.hashesOfKey.get(key.keyId);
    if (known === undefined) this.hashesOfKey.set(key.keyId, hash);
    else if (typeof known === 'string') {
      if (known !== hash) this.hashesOfKey.set(key.keyId, [known, hash]);
    } else if (!known.includes(hash)) known.push(hash);
  }

  /** Fed with every batch the projection runner applied, in log order. */
  applied(events: ReadonlyArray<{ streamId: string; type: string; position?: Position }>): void {
    for (const event of events) {
      const keyId = keyIdOfStream(event.streamId);
      if (keyId === null || !changesVerification(event.type)) continue;
      this.generation += 1;
      this.evictKey(keyId);
    }
    const reached = events[events.length - 1]?.position;
    if (reached === undefined || this.pinned.size === 0) return;
    for (const [keyId, until] of this.pinned) if (comparePositions(reached, until) >= 0) this.pinned.delete(keyId);
  }

  /**
   * Evicts the keys now and keeps them out until the projection has applied the log up to `until`:
   * for a change written at `until` that the projection has not applied yet (a lookup meanwhile
   * would read the state before it).
   */
  forget(keyIds: readonly string[], until: Position): void {
    this.generation += 1;
    for (const keyId of keyIds) {
      this.evictKey(keyId);
      const known = this.pinned.get(keyId);
      if (known === undefined || comparePositions(until, known) > 0) this.pinned.set(keyId, until);
    }
  }

  clear(): void {
    this.generation += 1;
    this.entries.clear();
    this.hashesOfKey.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private evictKey(keyId: string): void {
    const hashes = this.hashesOfKey.get(keyId);
    if (hashes === undefined) return;
    this.hashesOfKey.delete(keyId);
    if (typeof hashes === 'string') this.entries.delete(hashes);
    else for (const hash of hashes) this.entries.delete(hash);
  }

  /** Insertion order: the oldest entry goes (all of its key's hashes with it). */
  private evictOldest(): void {
    const oldest = this.entries.values().next();
    if (oldest.done) return;
    this.evictKey(oldest.value.keyId);
  }
}

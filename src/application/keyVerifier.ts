import { compileIpAllowlist } from '../domain/rules/ipAllowlist';
import { SECRET_LENGTH, hashSecret, isWellFormedSecret } from '../domain/secret';
import type { VerifiableKey, VerificationRequest, VerificationResult } from '../domain/verification';
import { checkAccess, unknownKey } from '../domain/verification';
import type { KeyIndexDocument } from '../../projections/readModel';
import type { Collection } from './ports/collection';
import { keyIdOfStream } from './streams';

export interface KeyUseSink {
  record(keyId: string, accountId: string, usedAt: number): void;
}

/** Events on a key's stream that cannot change how it verifies; every other event (known or not) evicts. */
const HARMLESS_EVENTS = new Set(['ApiKeyCreated', 'ApiKeyRenamed', 'ApiKeyDescriptionUpdated']);
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
 *   the cache empties and verification reads the read model.
 */
export class VerificationCache {
  private readonly entries = new Map<string, VerifiableKey>();
  private readonly hashesOfKey = new Map<string, string | string[]>();
  /** Bumped by every evicting event: a lookup started under another generation is not cached. */
  private generation = 0;

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
    if (generation !== this.generation || !this.current()) return;
    if (this.entries.size >= this.maxEntries) this.evictOldest();
    this.entries.set(hash, key);
    const known = this.hashesOfKey.get(key.keyId);
    if (known === undefined) this.hashesOfKey.set(key.keyId, hash);
    else if (typeof known === 'string') {
      if (known !== hash) this.hashesOfKey.set(key.keyId, [known, hash]);
    } else if (!known.includes(hash)) known.push(hash);
  }

  /** Fed with every batch the projection runner applied, in log order. */
  applied(events: ReadonlyArray<{ streamId: string; type: string }>): void {
    for (const event of events) {
      const keyId = keyIdOfStream(event.streamId);
      if (keyId === null || HARMLESS_EVENTS.has(event.type)) continue;
      this.generation += 1;
      this.evictKey(keyId);
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

/**
 * Answers "is this presented key valid for this request?". A key in the verification cache is
 * answered from memory: SHA-256, one Map lookup, the pure checks. Otherwise: the checksum first
 * (no lookup for a mistyped key), then one lookup of the hash in the hashed-key index, then the
 * pure checks. A cache hit skips the checksum because the secret's SHA-256 equals that of a key
 * that was issued, so it is that well-formed key. A valid use is noted for `lastUsedAt` without
 * waiting on any write.
 */
export class KeyVerifier {
  constructor(
    private readonly keyIndex: Collection<KeyIndexDocument>,
    private readonly uses: KeyUseSink,
    private readonly clock: () => number = Date.now,
    private readonly cache: VerificationCache | null = null,
  ) {}

  /**
   * The answer itself when memory suffices (a wrong-length secret, a cached key: no promise, no
   * I/O), or a promise of it when the read model must be asked; the secret is hashed once either way.
   */
  verifyNow(presented: string, request: Omit<VerificationRequest, 'nowMs'>): VerificationResult | Promise<VerificationResult> {
    const answer = this.answerOrHash(presented, request);
    return typeof answer === 'string' ? this.lookUp(presented, answer, request) : answer;
  }

  async verify(presented: string, request: Omit<VerificationRequest, 'nowMs'>): Promise<VerificationResult> {
    return this.verifyNow(presented, request);
  }

  /** The answer from memory, or the secret's hash to look up. */
  private answerOrHash(presented: string, request: Omit<VerificationRequest, 'nowMs'>): VerificationResult | string {
    if (presented.length !== SECRET_LENGTH) return unknownKey('MALFORMED');
    const hash = hashSecret(presented);
    const cached = this.cache?.get(hash);
    return cached ? this.check(cached, request) : hash;
  }

  private async lookUp(presented: string, hash: string, request: Omit<VerificationRequest, 'nowMs'>): Promise<VerificationResult> {
    if (!isWellFormedSecret(presented)) return unknownKey('MALFORMED');
    const generation = this.cache?.begin() ?? 0;
    const entry = await this.keyIndex.findOne({ _id: hash });
    if (!entry || entry.deleted) return unknownKey('NOT_FOUND');
    const key: VerifiableKey = {
      keyId: entry.keyId,
      accountId: entry.accountId,
      status: entry.status,
      expiresAtMs: entry.expiresAt === null ? null : entry.expiresAt.getTime(),
      scope: entry.scope,
      allowsIp: compileIpAllowlist(entry.ipAllowlist),
      graceUntilMs: entry.graceUntil ? entry.graceUntil.getTime() : null,
    };
    this.cache?.store(hash, key, generation);
    return this.check(key, request);
  }

  private check(key: VerifiableKey, request: Omit<VerificationRequest, 'nowMs'>): VerificationResult {
    const nowMs = this.clock();
    const result = checkAccess(key, { clientIp: request.clientIp, model: request.model, service: request.service, nowMs });
    if (result.valid) this.uses.record(result.keyId, result.accountId, nowMs);
    return result;
  }
}

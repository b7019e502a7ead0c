import { compileIpAllowlist } from '../domain/rules/ipAllowlist';
import { hasLimits } from '../domain/rules/limits';
import { SECRET_LENGTH, hashSecret, isWellFormedSecret } from '../domain/secret';
import type { VerifiableKey, VerificationRequest, VerificationResult } from '../domain/verification';
import { checkUse, unknownKey } from '../domain/verification';
import type { WindowCounts } from '../domain/usageWindows';
import type { KeyIndex } from '../readModel/keyLookups';
import type { VerificationCache } from './verificationCache';

/** Where verification counts uses and reads the counts limits are checked against (the UsageRecorder). */
export interface UsageMeter {
  record(keyId: string, accountId: string, usedAt: number): void;
  denied(keyId: string, accountId: string, reason: string, at: number, limitWindowEndMs?: number): void;
  countsOf(keyId: string): WindowCounts | undefined;
}

/**
 * Answers "is this presented key valid for this request?". A key in the verification cache is
 * answered from memory: SHA-256, one Map lookup, the pure checks. Otherwise: the checksum first
 * (no lookup for a mistyped key), then one lookup of the hash in the hashed-key index, then the
 * pure checks. A cache hit skips the checksum because the secret's SHA-256 equals that of a key
 * that was issued, so it is that well-formed key. A valid use is noted for `lastUsedAt` without
 * waiting on any write; so is a denial of a known key. A key's limits are checked against its counts
 * in the same turn as the use is counted, so concurrent verifications of one instance never overshoot.
 */
export class KeyVerifier {
  constructor(
    private readonly keyIndex: KeyIndex,
    private readonly uses: UsageMeter,
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
    const entry = await this.keyIndex.entryOf(hash);
    if (!entry || entry.deleted) return unknownKey('NOT_FOUND');
    const key: VerifiableKey = {
      keyId: entry.keyId,
      accountId: entry.accountId,
      status: entry.status,
      expiresAtMs: entry.expiresAt === null ? null : entry.expiresAt.getTime(),
      scope: entry.scope,
      allowsIp: compileIpAllowlist(entry.ipAllowlist),
      graceUntilMs: entry.graceUntil ? entry.graceUntil.getTime() : null,
      // Null for a key without limits: its verification skips the counts.
      limits: entry.limits && hasLimits(entry.limits) ? entry.limits : null,
      metadata: entry.metadata ?? null,
    };
    this.cache?.store(hash, key, generation);
    return this.check(key, request);
  }

  private check(key: VerifiableKey, request: Omit<VerificationRequest, 'nowMs'>): VerificationResult {
    const nowMs = this.clock();
    const counts = key.limits ? this.uses.countsOf(key.keyId) : undefined;
    const result = checkUse(key, { clientIp: request.clientIp, model: request.model, service: request.service, nowMs }, counts);
    if (result.valid) this.uses.record(result.keyId, result.accountId, nowMs);
    else if (result.keyId !== null && result.accountId !== null) this.uses.denied(result.keyId, result.accountId, result.reason, nowMs, result.limitWindowEndMs);
    return result;
  }
}

import { compileIpAllowlist } from '../domain/rules/ipAllowlist';
import { hashSecret, isWellFormedSecret } from '../domain/secret';
import type { VerifiableKey, VerificationRequest, VerificationResult } from '../domain/verification';
import { checkAccess, unknownKey } from '../domain/verification';
import type { KeyIndexDocument } from '../../projections/readModel';
import type { Collection } from './ports/collection';

export interface KeyUseSink {
  record(keyId: string, accountId: string, usedAt: number): void;
}

/**
 * Answers "is this presented key valid for this request?": the checksum first (no lookup for a
 * mistyped key), then one lookup of the SHA-256 hash in the hashed-key index, then the pure
 * checks. A valid use is noted for `lastUsedAt` without waiting on any write.
 */
export class KeyVerifier {
  // Compiled allowlists, reused while the index entry keeps its revision.
  private readonly compiled = new Map<string, { revision: number; key: VerifiableKey }>();

  constructor(
    private readonly keyIndex: Collection<KeyIndexDocument>,
    private readonly uses: KeyUseSink,
    private readonly clock: () => number = Date.now,
  ) {}

  async verify(presented: string, request: Omit<VerificationRequest, 'nowMs'>): Promise<VerificationResult> {
    if (!isWellFormedSecret(presented)) return unknownKey('MALFORMED');
    const hash = hashSecret(presented);
    const entry = await this.keyIndex.findOne({ _id: hash });
    if (!entry || entry.deleted) {
      this.compiled.delete(hash);
      return unknownKey('NOT_FOUND');
    }
    const nowMs = this.clock();
    const result = checkAccess(this.verifiable(hash, entry), { ...request, nowMs });
    if (result.valid) this.uses.record(result.keyId, result.accountId, nowMs);
    return result;
  }

  private verifiable(hash: string, entry: KeyIndexDocument): VerifiableKey {
    const cached = this.compiled.get(hash);
    if (cached && cached.revision === entry.revision) return cached.key;
    const key: VerifiableKey = {
      keyId: entry.keyId,
      accountId: entry.accountId,
      status: entry.status,
      expiresAtMs: entry.expiresAt === null ? null : entry.expiresAt.getTime(),
      scope: entry.scope,
      allowsIp: compileIpAllowlist(entry.ipAllowlist),
    };
    this.compiled.set(hash, { revision: entry.revision, key });
    return key;
  }
}

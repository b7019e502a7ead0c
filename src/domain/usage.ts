import type { Instant } from './time';

/**
 * Uses of keys, coalesced: at most one entry per key per usage window. Not lifecycle events: they
 * change neither a key's version nor its history, only its `lastUsedAt`.
 */
export interface KeyUse {
  readonly keyId: string;
  readonly accountId: string;
  readonly usedAt: Instant;
}

export interface ApiKeysUsed {
  readonly type: 'ApiKeysUsed';
  readonly data: { readonly uses: readonly KeyUse[] };
}

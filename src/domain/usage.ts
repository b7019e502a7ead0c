import type { Instant } from './time';

/**
 * What one key did in one minute, as an instance counted it: valid verifications, denied ones by
 * reason, and the tokens gateways reported for calls in that minute. Zero counts are left out.
 */
export interface UsageCount {
  /** The minute's start. */
  readonly minute: Instant;
  readonly requests?: number;
  readonly denied?: { readonly [reason: string]: number };
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  /**
   * The limit windows the key was refused in during this minute (RATE_LIMITED / QUOTA_EXHAUSTED and
   * when that window ends): the denial counts alone do not say whether a minute's, a day's or a
   * month's limit was reached. The webhook outbox turns each into one LIMIT_REACHED notice.
   */
  readonly limitsReached?: readonly LimitReached[];
}

export interface LimitReached {
  readonly reason: string;
  readonly windowEnd: Instant;
}

/**
 * Uses of one key since the instance's previous flush, coalesced: at most one entry per key per
 * flush. Not lifecycle events: they change neither a key's version nor its history, only its
 * `lastUsedAt` and its usage. `usedAt` is the latest valid use (absent when there was none);
 * entries written before usage was counted have only `usedAt`.
 */
export interface KeyUse {
  readonly keyId: string;
  readonly accountId: string;
  readonly usedAt?: Instant;
  readonly counts?: readonly UsageCount[];
}

export interface ApiKeysUsed {
  readonly type: 'ApiKeysUsed';
  /** `instanceId`: the writing instance, so that it does not count its own uses twice when they come back from the log. */
  readonly data: { readonly instanceId?: string; readonly uses: readonly KeyUse[] };
}

/** Tokens a use counts toward token limits. */
export const tokensOf = (count: UsageCount): number => (count.promptTokens ?? 0) + (count.completionTokens ?? 0);

import type { KeyStatus } from './apiKey/events';
import type { IpMatcher } from './rules/ipAllowlist';
import type { KeyLimits } from './rules/limits';
import type { KeyMetadata } from './rules/metadata';
import type { AccessScope } from './rules/scope';
import { scopeAllows } from './rules/scope';
import type { WindowCounts } from './usageWindows';
import { limitHit } from './usageWindows';

export const VERIFY_FAILURES = ['MALFORMED', 'NOT_FOUND', 'DISABLED', 'EXPIRED', 'IP_NOT_ALLOWED', 'SCOPE_DENIED', 'RATE_LIMITED', 'QUOTA_EXHAUSTED'] as const;
export type VerifyFailure = (typeof VERIFY_FAILURES)[number];

/** What verification needs to know of a key, as the hashed-key index holds it (allowlist compiled). */
export interface VerifiableKey {
  readonly keyId: string;
  readonly accountId: string;
  readonly status: KeyStatus;
  /** Epoch milliseconds; null when the key never expires. */
  readonly expiresAtMs: number | null;
  readonly scope: AccessScope;
  readonly allowsIp: IpMatcher;
  /**
   * Set when the secret was rotated out (epoch milliseconds): it verifies until then, and is
   * unknown after. Null or absent for a key's current secret.
   */
  readonly graceUntilMs?: number | null;
  /** Absent: no limits. */
  readonly limits?: KeyLimits | null;
  readonly metadata?: KeyMetadata | null;
}

export interface VerificationRequest {
  readonly clientIp?: string | null;
  readonly model?: string | null;
  readonly service?: string | null;
  /** Epoch milliseconds. */
  readonly nowMs: number;
}

/**
 * `rotationDeadlineMs`: the presented secret was rotated out and stops verifying then (epoch
 * milliseconds), so gateways can warn callers. `retryAfterSeconds`: with RATE_LIMITED and
 * QUOTA_EXHAUSTED, when the limit hit frees up. `metadata`: the key's, on a valid answer only.
 */
export type VerificationResult =
  | {
      readonly valid: true;
      readonly reason: null;
      readonly keyId: string;
      readonly accountId: string;
      readonly scope: AccessScope;
      readonly rotationDeadlineMs: number | null;
      readonly retryAfterSeconds: null;
      readonly metadata: KeyMetadata | null;
    }
  | {
      readonly valid: false;
      readonly reason: VerifyFailure;
      readonly keyId: string | null;
      readonly accountId: string | null;
      readonly scope: AccessScope | null;
      readonly rotationDeadlineMs: number | null;
      readonly retryAfterSeconds: number | null;
      readonly metadata: null;
      /** With RATE_LIMITED and QUOTA_EXHAUSTED: when the window of the limit hit ends (epoch ms), recorded with the denial. */
      readonly limitWindowEndMs?: number;
    };

export const unknownKey = (reason: 'MALFORMED' | 'NOT_FOUND'): VerificationResult => ({
  valid: false,
  reason,
  keyId: null,
  accountId: null,
  scope: null,
  rotationDeadlineMs: null,
  retryAfterSeconds: null,
  metadata: null,
});

/** The checks, in the order a caller would fix them: the key's own state first, then the request's origin and target. */
export function checkAccess(key: VerifiableKey, request: VerificationRequest): VerificationResult {
  const graceUntilMs = key.graceUntilMs ?? null;
  // A rotated-out secret past its grace period is as unknown as one never issued.
  if (graceUntilMs !== null && graceUntilMs <= request.nowMs) return unknownKey('NOT_FOUND');
  const known = { keyId: key.keyId, accountId: key.accountId, scope: key.scope, rotationDeadlineMs: graceUntilMs, retryAfterSeconds: null, metadata: null };
  if (key.status !== 'ENABLED') return { valid: false, reason: 'DISABLED', ...known };
  if (key.expiresAtMs !== null && key.expiresAtMs <= request.nowMs) return { valid: false, reason: 'EXPIRED', ...known };
  if (!key.allowsIp(request.clientIp)) return { valid: false, reason: 'IP_NOT_ALLOWED', ...known };
  if (!scopeAllows(key.scope, request.model, request.service)) return { valid: false, reason: 'SCOPE_DENIED', ...known };
  return { valid: true, reason: null, ...known, metadata: key.metadata ?? null };
}

/**
 * The whole verification of a use: access first (a key that may not be used here is refused
 * whatever its counts), then the key's limits against what it used in its current windows.
 */
export function checkUse(key: VerifiableKey, request: VerificationRequest, counts: WindowCounts | undefined): VerificationResult {
  const access = checkAccess(key, request);
  if (!access.valid || !key.limits) return access;
  const hit = limitHit(key.limits, counts, request.nowMs);
  if (hit === null) return access;
  return { ...access, valid: false, reason: hit.reason, retryAfterSeconds: hit.retryAfterSeconds, metadata: null, limitWindowEndMs: hit.windowEndMs };
}

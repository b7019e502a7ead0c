import { badInput } from '../errors';
import type { Instant } from '../time';
import { toInstant } from '../time';

/** An account's rules for its keys; null means no rule. */
export interface AccountPolicy {
  /** New keys, expiry changes and rotations: the key must expire within this many days. */
  readonly maxKeyLifetimeDays: number | null;
  /** The expiry of a key created without one, in days from its creation. */
  readonly defaultKeyLifetimeDays: number | null;
  /** KEY_EXPIRING is sent this many days before a key expires. */
  readonly expiryWarningDays: number | null;
  /** KEY_UNUSED is sent once a key has not been used for this many days. */
  readonly unusedAfterDays: number | null;
}

export const NO_POLICY: AccountPolicy = { maxKeyLifetimeDays: null, defaultKeyLifetimeDays: null, expiryWarningDays: null, unusedAfterDays: null };

/** The largest value each setting takes, in days. */
export const POLICY_MAX_DAYS: { readonly [Setting in keyof AccountPolicy]: number } = {
  maxKeyLifetimeDays: 36_500,
  defaultKeyLifetimeDays: 36_500,
  expiryWarningDays: 365,
  unusedAfterDays: 3650,
};

const DAY_MS = 86_400_000;

/** A policy as a caller gives it: every setting a whole number of days within its range, a default lifetime within the maximum. */
export function parsePolicy(raw: Partial<Record<keyof AccountPolicy, number | null | undefined>>): AccountPolicy {
  const policy = { ...NO_POLICY };
  for (const setting of Object.keys(POLICY_MAX_DAYS) as Array<keyof AccountPolicy>) {
    const value = raw[setting];
    if (value == null) continue;
    if (!Number.isInteger(value) || value < 1 || value > POLICY_MAX_DAYS[setting]) {
      throw badInput(`policy.${setting}`, `${setting} must be a whole number of days from 1 to ${POLICY_MAX_DAYS[setting]}, or null for no rule`);
    }
    policy[setting] = value;
  }
  if (policy.maxKeyLifetimeDays !== null && policy.defaultKeyLifetimeDays !== null && policy.defaultKeyLifetimeDays > policy.maxKeyLifetimeDays) {
    throw badInput('policy.defaultKeyLifetimeDays', `defaultKeyLifetimeDays (${policy.defaultKeyLifetimeDays}) must not exceed maxKeyLifetimeDays (${policy.maxKeyLifetimeDays})`);
  }
  return policy;
}

export const samePolicy = (a: AccountPolicy, b: AccountPolicy): boolean =>
  a.maxKeyLifetimeDays === b.maxKeyLifetimeDays && a.defaultKeyLifetimeDays === b.defaultKeyLifetimeDays && a.expiryWarningDays === b.expiryWarningDays && a.unusedAfterDays === b.unusedAfterDays;

/** The latest expiry the maximum lifetime allows for a key (re)issued at `now`; null without a maximum. */
export const latestExpiry = (maxKeyLifetimeDays: number | null, now: Instant): Instant | null =>
  maxKeyLifetimeDays === null ? null : toInstant(Date.parse(now) + maxKeyLifetimeDays * DAY_MS);

/**
 * An expiry set on a key at `now` (a new key's, or an expiry change) must fit the maximum
 * lifetime: no expiry at all does not, nor one past now + maxKeyLifetimeDays.
 */
export function checkExpiryWithinPolicy(maxKeyLifetimeDays: number | null, expiresAt: Instant | null, now: Instant): void {
  const latest = latestExpiry(maxKeyLifetimeDays, now);
  if (latest === null) return;
  if (expiresAt === null) throw badInput('expiresAt', `the account's policy requires keys to expire within ${maxKeyLifetimeDays} days: give an expiresAt no later than ${latest}`);
  if (Date.parse(expiresAt) > Date.parse(latest)) throw badInput('expiresAt', `the account's policy allows keys at most ${maxKeyLifetimeDays} days of life: expiresAt must be no later than ${latest}`);
}

/** A new key's expiry under the policy: the requested one, or the default lifetime's when none was given; refused when it does not fit the maximum. */
export function newKeyExpiry(policy: AccountPolicy, requested: Instant | null, now: Instant): Instant | null {
  const expiresAt = requested ?? (policy.defaultKeyLifetimeDays === null ? null : toInstant(Date.parse(now) + policy.defaultKeyLifetimeDays * DAY_MS));
  checkExpiryWithinPolicy(policy.maxKeyLifetimeDays, expiresAt, now);
  return expiresAt;
}

/**
 * A rotation issues a new secret, which must not outlive the maximum lifetime counted from the
 * rotation: the key's expiry becomes the earlier of its own and now + maxKeyLifetimeDays. A
 * rotation is never refused for the policy: it is how a leaked secret is replaced.
 */
export function expiryAfterRotation(maxKeyLifetimeDays: number | null, current: Instant | null, now: Instant): Instant | null {
  const latest = latestExpiry(maxKeyLifetimeDays, now);
  if (latest === null) return current;
  return current !== null && Date.parse(current) <= Date.parse(latest) ? current : latest;
}

import { badInput } from '../errors';

/** The longest a rotated-out secret may keep verifying: 30 days. */
export const GRACE_PERIOD_MAX_SECONDS = 30 * 24 * 60 * 60;

/** A rotation's grace period: whole seconds from 0 (the old secret stops at once) to 30 days. */
export function parseGracePeriod(seconds: number, field = 'gracePeriodSeconds'): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > GRACE_PERIOD_MAX_SECONDS) {
    throw badInput(field, `gracePeriodSeconds must be a whole number from 0 to ${GRACE_PERIOD_MAX_SECONDS} (30 days)`);
  }
  return seconds;
}

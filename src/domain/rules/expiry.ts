import { badInput } from '../errors';
import type { Instant } from '../time';

/** An expiry, when given, must lie in the future at the moment of the command. */
export function parseExpiry(raw: Instant | null | undefined, now: Instant, field = 'expiresAt'): Instant | null {
  if (raw == null) return null;
  if (Date.parse(raw) <= Date.parse(now)) throw badInput(field, 'expiresAt must lie in the future');
  return raw;
}

export const isExpired = (expiresAt: Instant | null, now: Instant): boolean =>
  expiresAt !== null && Date.parse(expiresAt) <= Date.parse(now);

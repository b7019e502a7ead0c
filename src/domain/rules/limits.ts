import { badInput } from '../errors';

/** The kinds of per-key limit, in the order the API lists them. */
export const LIMIT_KINDS = ['requestsPerMinute', 'requestsPerDay', 'tokensPerMinute', 'tokensPerDay', 'tokensPerMonth'] as const;
export type LimitKind = (typeof LIMIT_KINDS)[number];

/** A key's limits: null means no limit of that kind. */
export type KeyLimits = { readonly [Kind in LimitKind]: number | null };
export type KeyLimitsInput = { readonly [Kind in LimitKind]?: number | null };

export const NO_LIMITS: KeyLimits = Object.freeze({ requestsPerMinute: null, requestsPerDay: null, tokensPerMinute: null, tokensPerDay: null, tokensPerMonth: null });

/** GraphQL's Int is 32-bit signed: the largest value a limit can be given and read back as. */
export const LIMIT_MAX = 2_147_483_647;

/** Every given value is an integer from 1 to LIMIT_MAX; absent and null mean no limit. */
export function parseLimits(raw: KeyLimitsInput | null | undefined, field = 'limits'): KeyLimits {
  if (raw == null) return NO_LIMITS;
  const limits: Record<string, number | null> = {};
  for (const kind of LIMIT_KINDS) {
    const value = raw[kind];
    if (value == null) {
      limits[kind] = null;
      continue;
    }
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > LIMIT_MAX) {
      throw badInput(`${field}.${kind}`, `${kind} must be a whole number from 1 to ${LIMIT_MAX}, or null for no limit (got ${String(value)})`);
    }
    limits[kind] = value;
  }
  return limits as KeyLimits;
}

/** Events written before limits existed carry none. */
export const limitsOrNone = (limits: KeyLimits | null | undefined): KeyLimits => limits ?? NO_LIMITS;

export const hasLimits = (limits: KeyLimits): boolean => LIMIT_KINDS.some((kind) => limits[kind] !== null);

export const sameLimits = (a: KeyLimits, b: KeyLimits): boolean => LIMIT_KINDS.every((kind) => a[kind] === b[kind]);

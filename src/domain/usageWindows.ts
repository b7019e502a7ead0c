import type { KeyLimits } from './rules/limits';

/**
 * The windows limits are counted in: fixed, aligned to UTC (the minute, the day from 00:00 UTC, the
 * calendar month). Fixed rather than sliding because
 * - "1,000 requests a day, 2 M tokens a month" is how plans are sold and billed: a calendar window;
 * - the counts are the usage buckets themselves (minute, day, month), so what is enforced, what is
 *   flushed and merged across instances, and what apiKeyUsage reports are the same numbers;
 * - a key costs a few integers, whatever its limits (a sliding log costs one entry per request);
 * - retryAfterSeconds is exact: the time until the window ends.
 * The price is a burst at a boundary: up to 2 × the limit in any span of one window's length (the
 * whole limit at the end of one window, again at the start of the next), and never more.
 */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export const USAGE_GRANULARITIES = ['MINUTE', 'HOUR', 'DAY'] as const;
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];

export const DEFAULT_USAGE_GRANULARITY: UsageGranularity = 'HOUR';

export const GRANULARITY_MS: { readonly [G in UsageGranularity]: number } = { MINUTE: MINUTE_MS, HOUR: HOUR_MS, DAY: DAY_MS };

/** Start of the bucket of `granularity` holding `ms`. */
export const bucketStart = (granularity: UsageGranularity, ms: number): number => ms - (((ms % GRANULARITY_MS[granularity]) + GRANULARITY_MS[granularity]) % GRANULARITY_MS[granularity]);

export const monthStart = (ms: number): number => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
};

export const nextMonthStart = (ms: number): number => {
  const date = new Date(ms);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
};

/**
 * What a key used in its current windows, counted toward its limits: valid requests and tokens
 * (prompt + completion) per minute and day, tokens per month. Each count belongs to the window that
 * starts at its `…Start`; a count of an earlier window reads as 0.
 */
export interface WindowCounts {
  minuteStart: number;
  minuteRequests: number;
  minuteTokens: number;
  dayStart: number;
  dayRequests: number;
  dayTokens: number;
  monthStart: number;
  /** Next month's start: kept so that the hot path needs no calendar arithmetic. */
  monthEnd: number;
  monthTokens: number;
}

export const emptyWindowCounts = (): WindowCounts => ({ minuteStart: 0, minuteRequests: 0, minuteTokens: 0, dayStart: 0, dayRequests: 0, dayTokens: 0, monthStart: 0, monthEnd: 0, monthTokens: 0 });

/**
 * Adds use at instant `atMs` to the windows holding it. A use in a later window than the counted
 * one starts that window afresh; a use in an earlier one (a late report) no longer counts toward a
 * limit, only toward usage. Mutates `counts`: this runs on every verification.
 */
export function countUse(counts: WindowCounts, atMs: number, requests: number, tokens: number): void {
  countInMinute(counts, atMs, requests, tokens);
  countInDay(counts, atMs, requests, tokens);
  countInMonth(counts, atMs, tokens);
}

/** Adds to the minute window holding `atMs` only (a minute usage bucket read back at start). */
export function countInMinute(counts: WindowCounts, atMs: number, requests: number, tokens: number): void {
  const minute = bucketStart('MINUTE', atMs);
  if (minute > counts.minuteStart) Object.assign(counts, { minuteStart: minute, minuteRequests: 0, minuteTokens: 0 });
  if (minute === counts.minuteStart) {
    counts.minuteRequests += requests;
    counts.minuteTokens += tokens;
  }
}

/** Adds to the day window holding `atMs` only. */
export function countInDay(counts: WindowCounts, atMs: number, requests: number, tokens: number): void {
  const day = bucketStart('DAY', atMs);
  if (day > counts.dayStart) Object.assign(counts, { dayStart: day, dayRequests: 0, dayTokens: 0 });
  if (day === counts.dayStart) {
    counts.dayRequests += requests;
    counts.dayTokens += tokens;
  }
}

/** Adds tokens to the month window holding `atMs` only. */
export function countInMonth(counts: WindowCounts, atMs: number, tokens: number): void {
  if (atMs >= counts.monthEnd) Object.assign(counts, { monthStart: monthStart(atMs), monthEnd: nextMonthStart(atMs), monthTokens: 0 });
  if (atMs >= counts.monthStart) counts.monthTokens += tokens;
}

export type LimitReason = 'RATE_LIMITED' | 'QUOTA_EXHAUSTED';
export interface LimitHit {
  readonly reason: LimitReason;
  /** Whole seconds until every exhausted window has ended (at least 1). */
  readonly retryAfterSeconds: number;
  /** When the window of the limit named ends (epoch ms): with the key and reason, it names the window for LIMIT_REACHED. */
  readonly windowEndMs: number;
}

/**
 * Whether a request at `nowMs` is over one of the key's limits: a count that has reached its limit
 * in the current window. When several are, the answer names the one that frees up last (an earlier
 * retry would be refused again) and its time; request limits come first on a tie.
 */
export function limitHit(limits: KeyLimits, counts: WindowCounts | undefined, nowMs: number): LimitHit | null {
  if (counts === undefined) return null;
  // Written out (no closure, no allocation until a limit is hit): this runs on every verification of a limited key.
  const minute = bucketStart('MINUTE', nowMs);
  const day = bucketStart('DAY', nowMs);
  const inMinute = counts.minuteStart === minute;
  const inDay = counts.dayStart === day;
  const inMonth = nowMs >= counts.monthStart && nowMs < counts.monthEnd;
  let reason: LimitReason | null = null;
  let untilMs = 0;
  const { requestsPerMinute, requestsPerDay, tokensPerMinute, tokensPerDay, tokensPerMonth } = limits;
  if (requestsPerMinute !== null && inMinute && counts.minuteRequests >= requestsPerMinute) (reason = 'RATE_LIMITED'), (untilMs = minute + MINUTE_MS);
  if (requestsPerDay !== null && inDay && counts.dayRequests >= requestsPerDay && day + DAY_MS > untilMs) (reason = 'RATE_LIMITED'), (untilMs = day + DAY_MS);
  if (tokensPerMinute !== null && inMinute && counts.minuteTokens >= tokensPerMinute && minute + MINUTE_MS > untilMs) (reason = 'QUOTA_EXHAUSTED'), (untilMs = minute + MINUTE_MS);
  if (tokensPerDay !== null && inDay && counts.dayTokens >= tokensPerDay && day + DAY_MS > untilMs) (reason = 'QUOTA_EXHAUSTED'), (untilMs = day + DAY_MS);
  if (tokensPerMonth !== null && inMonth && counts.monthTokens >= tokensPerMonth && counts.monthEnd > untilMs) (reason = 'QUOTA_EXHAUSTED'), (untilMs = counts.monthEnd);
  if (reason === null) return null;
  return { reason, retryAfterSeconds: Math.max(1, Math.ceil((untilMs - nowMs) / 1000)), windowEndMs: untilMs };
}

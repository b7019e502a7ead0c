import { badInput } from '../errors';
import { LIMIT_MAX } from './limits';

/** How far back a gateway may report a call: later reports are refused (the windows they belong to may be gone). */
export const TOKEN_USAGE_MAX_AGE_MS = 3_600_000;
/** Clocks differ: a report up to this far ahead of ours is taken as now. */
export const TOKEN_USAGE_CLOCK_SKEW_MS = 300_000;
/** Entries per report: bounds the cost of one request. */
export const TOKEN_USAGE_BATCH_MAX = 1000;
const KEY_ID_MAX = 128;
const MODEL_MAX = 128;

export interface TokenUsageEntryInput {
  keyId: string;
  model?: string | null;
  promptTokens: number;
  completionTokens: number;
  /** Epoch milliseconds; absent: now. */
  atMs?: number | null;
}

export interface TokenUsageEntry {
  readonly keyId: string;
  readonly promptTokens: number;
  readonly completionTokens: number;
  readonly atMs: number;
}

const tokens = (value: unknown, field: string): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > LIMIT_MAX) throw badInput(field, `must be a whole number from 0 to ${LIMIT_MAX}`);
  return value;
};

/**
 * A gateway's batch of token reports, checked whole before anything counts (bad input changes
 * nothing): at most TOKEN_USAGE_BATCH_MAX entries, token counts from 0, a call at most an hour old.
 * Whether each key exists is not a matter of input: unknown keys are counted as rejected.
 */
export function parseTokenUsage(raw: readonly TokenUsageEntryInput[], nowMs: number, field = 'entries'): TokenUsageEntry[] {
  if (!Array.isArray(raw)) throw badInput(field, 'entries must be a list');
  if (raw.length > TOKEN_USAGE_BATCH_MAX) throw badInput(field, `at most ${TOKEN_USAGE_BATCH_MAX} entries per report (got ${raw.length})`);
  return raw.map((entry, index) => {
    const at = `${field}[${index}]`;
    if (entry === null || typeof entry !== 'object') throw badInput(at, 'each entry is an object { keyId, promptTokens, completionTokens, model?, at? }');
    if (typeof entry.keyId !== 'string' || entry.keyId.length === 0 || entry.keyId.length > KEY_ID_MAX) throw badInput(`${at}.keyId`, `keyId must be a key id (1 to ${KEY_ID_MAX} characters)`);
    if (entry.model != null && (typeof entry.model !== 'string' || entry.model.length > MODEL_MAX)) throw badInput(`${at}.model`, `model must be at most ${MODEL_MAX} characters`);
    const promptTokens = tokens(entry.promptTokens, `${at}.promptTokens`);
    const completionTokens = tokens(entry.completionTokens, `${at}.completionTokens`);
    let atMs = nowMs;
    if (entry.atMs != null) {
      if (!Number.isFinite(entry.atMs)) throw badInput(`${at}.at`, 'at must be an instant');
      if (entry.atMs < nowMs - TOKEN_USAGE_MAX_AGE_MS) throw badInput(`${at}.at`, 'reports of calls more than an hour ago are refused');
      if (entry.atMs > nowMs + TOKEN_USAGE_CLOCK_SKEW_MS) throw badInput(`${at}.at`, 'at lies in the future');
      atMs = Math.min(entry.atMs, nowMs);
    }
    return { keyId: entry.keyId, promptTokens, completionTokens, atMs };
  });
}

import type { ApiKeyCommand, CreateApiKey } from '../../src/domain/apiKey/commands';
import { decide } from '../../src/domain/apiKey/decide';
import type { ApiKeyEvent } from '../../src/domain/apiKey/events';
import type { ApiKeyState } from '../../src/domain/apiKey/state';
import { evolve, foldEvents, initialState } from '../../src/domain/apiKey/state';
import { compileIpAllowlist } from '../../src/domain/rules/ipAllowlist';
import { LIMIT_MAX, NO_LIMITS, parseLimits } from '../../src/domain/rules/limits';
import { METADATA_MAX_BYTES, parseMetadata } from '../../src/domain/rules/metadata';
import { parseScope } from '../../src/domain/rules/scope';
import { TOKEN_USAGE_BATCH_MAX, parseTokenUsage } from '../../src/domain/rules/tokenUsage';
import { fingerprintOf, secretFromRandomBytes } from '../../src/domain/secret';
import { countUse, emptyWindowCounts, limitHit } from '../../src/domain/usageWindows';
import type { VerifiableKey } from '../../src/domain/verification';
import { checkUse } from '../../src/domain/verification';
import { deciderSpecification } from '../support/deciderSpecification';
import { apiKeyCreated } from '../support/eventFixtures';

const spec = deciderSpecification<ApiKeyState, ApiKeyCommand, ApiKeyEvent>({ decide, evolve, initialState });
const keyId = 'key-1';
const accountId = 'acct-1';
const created = '2026-11-25T08:00:00.000Z';
const now = '2026-11-25T09:00:00.000Z';
const fingerprint = fingerprintOf(secretFromRandomBytes(Buffer.alloc(32, 7)));
const base = { keyId, accountId, occurredAt: now };
const on = { keyId, accountId, now };
const keyCreated = apiKeyCreated({ keyId, accountId, occurredAt: created, secretHash: fingerprint.secretHash, maskedKey: fingerprint.maskedKey });
const createCommand = (data: Partial<CreateApiKey['data']>): CreateApiKey => ({
  type: 'CreateApiKey',
  data: { keyId, accountId, now: created, name: 'prod backend', region: 'us-east-1', acceptTerms: true, fingerprint, ...data },
});
const ms = (instant: string) => Date.parse(instant);

describe('Limits rule', () => {
  it('should keep given limits and read absent or null ones as no limit', () => {
    expect(parseLimits({ requestsPerMinute: 60, tokensPerMonth: null })).toEqual({ ...NO_LIMITS, requestsPerMinute: 60 });
    expect(parseLimits(null)).toEqual(NO_LIMITS);
  });

  it.each([[0], [-1], [1.5], [LIMIT_MAX + 1], [Number.NaN]])('should refuse %p with the offending field', (value) => {
    expect(() => parseLimits({ tokensPerDay: value })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'limits.tokensPerDay' }));
  });
});

describe('Metadata rule', () => {
  it('should keep a JSON object up to 1 KB in canonical form, and refuse anything else', () => {
    expect(parseMetadata({ plan: 'pro', team: 'search' })).toEqual({ plan: 'pro', team: 'search' });
    expect(parseMetadata(null)).toBeNull();
    const atLimit = { n: 'x'.repeat(METADATA_MAX_BYTES - 8) }; // {"n":"…"} is 8 bytes around the text
    expect(parseMetadata(atLimit)).toEqual(atLimit);
    for (const bad of [{ n: 'x'.repeat(METADATA_MAX_BYTES - 7) }, { n: '租'.repeat(342) }, ['a'], 'text', 42]) {
      expect(() => parseMetadata(bad)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'metadata' }));
    }
  });
});

describe('ApiKey limits and metadata', () => {
  it('should record limits and metadata at creation only when given', () => {
    const [event] = decide(createCommand({ limits: { requestsPerDay: 1000, tokensPerMonth: 2_000_000 }, metadata: { plan: 'pro' } }), initialState());
    expect(event?.data).toMatchObject({ limits: { ...NO_LIMITS, requestsPerDay: 1000, tokensPerMonth: 2_000_000 }, metadata: { plan: 'pro' } });
    const [plain] = decide(createCommand({}), initialState());
    expect(plain?.data).not.toHaveProperty('limits');
    expect(plain?.data).not.toHaveProperty('metadata');
    expect(foldEvents([plain as ApiKeyEvent])).toMatchObject({ key: { limits: NO_LIMITS, metadata: null } });
  });

  it('should refuse bad limits at creation with the offending field', () => {
    spec.given([]).when(createCommand({ limits: { requestsPerMinute: 0 } })).thenThrows('BAD_USER_INPUT', 'limits.requestsPerMinute');
  });

  it('should update limits as a lifecycle event, and do nothing for the same limits', () => {
    const limits = { ...NO_LIMITS, requestsPerMinute: 10 };
    spec.given([keyCreated]).when({ type: 'UpdateLimits', data: { ...on, limits: { requestsPerMinute: 10 } } }).then([{ type: 'ApiKeyLimitsUpdated', data: { ...base, limits } }]);
    spec.given([keyCreated, { type: 'ApiKeyLimitsUpdated', data: { ...base, limits } }]).when({ type: 'UpdateLimits', data: { ...on, limits: { requestsPerMinute: 10 } } }).thenNothingHappens();
    expect(foldEvents([keyCreated, { type: 'ApiKeyLimitsUpdated', data: { ...base, limits } }])).toMatchObject({ key: { limits, version: 2 } });
  });

  it('should check the expected version and ownership of a limits change', () => {
    spec.given([keyCreated]).when({ type: 'UpdateLimits', data: { ...on, limits: {}, expectedVersion: 5 } }).thenThrows('CONFLICT');
    spec.given([keyCreated]).when({ type: 'UpdateLimits', data: { ...on, accountId: 'other', limits: {} } }).thenThrows('NOT_FOUND');
  });

  it('should set, keep and remove metadata', () => {
    spec.given([keyCreated]).when({ type: 'UpdateMetadata', data: { ...on, metadata: { b: 1, a: 2 } } }).then([{ type: 'ApiKeyMetadataUpdated', data: { ...base, metadata: { a: 2, b: 1 } } }]);
    const tagged: ApiKeyEvent = { type: 'ApiKeyMetadataUpdated', data: { ...base, metadata: { a: 2, b: 1 } } };
    spec.given([keyCreated, tagged]).when({ type: 'UpdateMetadata', data: { ...on, metadata: { a: 2, b: 1 } } }).thenNothingHappens();
    spec.given([keyCreated, tagged]).when({ type: 'UpdateMetadata', data: { ...on, metadata: null } }).then([{ type: 'ApiKeyMetadataUpdated', data: { ...base, metadata: null } }]);
  });

  it('should carry limits and metadata on a rotation, so the new secret verifies the same way', () => {
    const limited: ApiKeyEvent = { type: 'ApiKeyLimitsUpdated', data: { ...base, limits: { ...NO_LIMITS, tokensPerDay: 5 } } };
    const second = fingerprintOf(secretFromRandomBytes(Buffer.alloc(32, 9)));
    const [rotated] = decide({ type: 'RotateApiKey', data: { ...on, gracePeriodSeconds: 0, fingerprint: second } }, foldEvents([keyCreated, limited]));
    expect(rotated?.data).toMatchObject({ limits: { tokensPerDay: 5 } });
    expect(rotated?.data).not.toHaveProperty('metadata');
  });
});

describe('Fixed windows and retry-after', () => {
  const limits = { ...NO_LIMITS, requestsPerMinute: 2, requestsPerDay: 3, tokensPerMonth: 100 };

  it('should refuse at the limit until the minute ends, counting only the current window', () => {
    const counts = emptyWindowCounts();
    countUse(counts, ms('2026-11-25T08:00:10.000Z'), 1, 0);
    expect(limitHit(limits, counts, ms('2026-11-25T08:00:20.000Z'))).toBeNull();
    countUse(counts, ms('2026-11-25T08:00:20.000Z'), 1, 0);
    expect(limitHit(limits, counts, ms('2026-11-25T08:00:20.500Z'))).toEqual({ reason: 'RATE_LIMITED', retryAfterSeconds: 40, windowEndMs: ms('2026-11-25T08:01:00.000Z') });
    expect(limitHit(limits, counts, ms('2026-11-25T08:01:00.000Z'))).toBeNull();
  });

  it('should name the limit that frees up last when several are used up', () => {
    const counts = emptyWindowCounts();
    countUse(counts, ms('2026-11-25T23:58:00.000Z'), 1, 0);
    countUse(counts, ms('2026-11-25T23:59:10.000Z'), 2, 0);
    // The minute (2 of 2) and the day (3 of 3) both free up at midnight, 50 s away.
    expect(limitHit(limits, counts, ms('2026-11-25T23:59:10.000Z'))).toEqual({ reason: 'RATE_LIMITED', retryAfterSeconds: 50, windowEndMs: ms('2026-11-26T00:00:00.000Z') });
    countUse(counts, ms('2026-11-25T23:59:20.000Z'), 0, 100);
    expect(limitHit(limits, counts, ms('2026-11-25T23:59:20.000Z'))).toEqual({ reason: 'QUOTA_EXHAUSTED', retryAfterSeconds: 5 * 86_400 + 40, windowEndMs: ms('2026-12-01T00:00:00.000Z') });
  });

  it('should count the calendar month and start afresh in the next one; a late use of an earlier window counts toward no limit', () => {
    const counts = emptyWindowCounts();
    countUse(counts, ms('2026-02-28T23:59:59.000Z'), 0, 100);
    expect(limitHit(limits, counts, ms('2026-02-28T23:59:59.500Z'))).toEqual({ reason: 'QUOTA_EXHAUSTED', retryAfterSeconds: 1, windowEndMs: ms('2026-03-01T00:00:00.000Z') });
    expect(limitHit(limits, counts, ms('2026-03-01T00:00:00.000Z'))).toBeNull();
    countUse(counts, ms('2026-03-01T00:00:01.000Z'), 0, 1);
    countUse(counts, ms('2026-02-28T23:59:59.000Z'), 0, 500);
    expect(counts.monthTokens).toBe(1);
  });

  it('should not limit a valid key before its access checks, nor count toward anything when access is refused', () => {
    const key: VerifiableKey = { keyId: 'k', accountId: 'a', status: 'ENABLED', expiresAtMs: null, scope: parseScope(null), allowsIp: compileIpAllowlist([]), limits, metadata: { plan: 'pro' } };
    const counts = emptyWindowCounts();
    const nowMs = ms('2026-11-25T08:00:00.000Z');
    countUse(counts, nowMs, 2, 0);
    expect(checkUse(key, { nowMs }, counts)).toMatchObject({ valid: false, reason: 'RATE_LIMITED', retryAfterSeconds: 60, metadata: null, keyId: 'k' });
    expect(checkUse({ ...key, status: 'DISABLED' }, { nowMs }, counts)).toMatchObject({ reason: 'DISABLED', retryAfterSeconds: null });
    expect(checkUse(key, { nowMs }, undefined)).toMatchObject({ valid: true, metadata: { plan: 'pro' }, retryAfterSeconds: null });
  });
});

describe('Token usage reports', () => {
  const nowMs = ms('2026-11-25T09:00:00.000Z');
  it('should take a batch, default the instant to now, and refuse it whole for a bad entry', () => {
    expect(parseTokenUsage([{ keyId: 'k', promptTokens: 3, completionTokens: 4 }], nowMs)).toEqual([{ keyId: 'k', promptTokens: 3, completionTokens: 4, atMs: nowMs }]);
    expect(() => parseTokenUsage([{ keyId: 'k', promptTokens: 1, completionTokens: 1, atMs: nowMs - 3_600_001 }], nowMs)).toThrow(expect.objectContaining({ field: 'entries[0].at' }));
    expect(() => parseTokenUsage([{ keyId: 'k', promptTokens: 1, completionTokens: 1, atMs: nowMs + 3_600_000 }], nowMs)).toThrow(expect.objectContaining({ field: 'entries[0].at' }));
    expect(() => parseTokenUsage([{ keyId: '', promptTokens: 1, completionTokens: 1 }], nowMs)).toThrow(expect.objectContaining({ field: 'entries[0].keyId' }));
    const many = Array.from({ length: TOKEN_USAGE_BATCH_MAX + 1 }, () => ({ keyId: 'k', promptTokens: 1, completionTokens: 1 }));
    expect(() => parseTokenUsage(many, nowMs)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'entries' }));
  });
});

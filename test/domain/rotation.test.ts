import type { ApiKeyCommand, ReportLeakedKey, RotateApiKey } from '../../src/domain/apiKey/commands';
import { decide } from '../../src/domain/apiKey/decide';
import type { ApiKeyCreated, ApiKeyEvent, ApiKeyRotated } from '../../src/domain/apiKey/events';
import type { ApiKeyState } from '../../src/domain/apiKey/state';
import { evolve, foldEvents, initialState } from '../../src/domain/apiKey/state';
import { fingerprintOf, secretFromRandomBytes } from '../../src/domain/secret';
import { checkAccess } from '../../src/domain/verification';
import { compileIpAllowlist } from '../../src/domain/rules/ipAllowlist';
import { deciderSpecification } from '../support/deciderSpecification';
import { apiKeyCreated } from '../support/eventFixtures';

const spec = deciderSpecification<ApiKeyState, ApiKeyCommand, ApiKeyEvent>({ decide, evolve, initialState });

const keyId = 'key-1';
const accountId = 'acct-1';
const created = '2026-11-25T08:00:00.000Z';
const now = '2026-11-25T09:00:00.000Z';
const fingerprint = (seed: number) => fingerprintOf(secretFromRandomBytes(Buffer.alloc(32, seed)));
const original = fingerprint(1);
const second = fingerprint(2);
const third = fingerprint(3);
const scope = { mode: 'RESTRICTED' as const, models: ['qwen-max'], services: [] };

const keyCreated: ApiKeyCreated = apiKeyCreated({
  keyId,
  accountId,
  occurredAt: created,
  secretHash: original.secretHash,
  maskedKey: original.maskedKey,
  scope,
  ipAllowlist: ['10.0.0.0/8'],
});
const on = (at = now) => ({ keyId, accountId, now: at });
const base = (at = now) => ({ keyId, accountId, occurredAt: at });
const rotate = (gracePeriodSeconds: number, to = second, data: Partial<RotateApiKey['data']> = {}): RotateApiKey => ({
  type: 'RotateApiKey',
  data: { ...on(), gracePeriodSeconds, fingerprint: to, ...data },
});
const rotated = (graceUntil: string, from = original, to = second, at = now): ApiKeyRotated => ({
  type: 'ApiKeyRotated',
  data: {
    ...base(at),
    secretHash: to.secretHash,
    maskedKey: to.maskedKey,
    previousSecretHash: from.secretHash,
    previousMaskedKey: from.maskedKey,
    graceUntil,
    status: 'ENABLED',
    scope,
    ipAllowlist: ['10.0.0.0/8'],
    expiresAt: null,
  },
});
const report = (secret = original, at = now): ReportLeakedKey => ({ type: 'ReportLeakedKey', data: { ...on(at), reported: secret } });
const disabledBy = (reason: 'OWNER' | 'LEAKED', at = now): ApiKeyEvent => ({ type: 'ApiKeyStatusChanged', data: { ...base(at), status: 'DISABLED', reason } });
const enabled = (at = now): ApiKeyEvent => ({ type: 'ApiKeyStatusChanged', data: { ...base(at), status: 'ENABLED', reason: 'OWNER' } });

describe('ApiKey rotation', () => {
  describe('when rotated with a grace period', () => {
    it('should record only the hashes and masks of both secrets, the end of the grace period and what verification needs', () => {
      spec.given([keyCreated]).when(rotate(3600)).then([rotated('2026-11-25T10:00:00.000Z')]);
    });

    it('should keep id, name, scope, allowlist and history, and show the new masked secret', () => {
      const state = foldEvents([keyCreated, rotated('2026-11-25T10:00:00.000Z')]);
      expect(state.status === 'ACTIVE' && state.key).toMatchObject({
        id: keyId,
        name: 'prod backend',
        scope,
        ipAllowlist: ['10.0.0.0/8'],
        maskedKey: second.maskedKey,
        secretHash: second.secretHash,
        previousSecretHash: original.secretHash,
        graceUntil: '2026-11-25T10:00:00.000Z',
        version: 2,
      });
    });
  });

  describe('when rotated with no grace period', () => {
    it('should end the old secret at the rotation instant', () => {
      spec.given([keyCreated]).when(rotate(0)).then([rotated(now)]);
    });
  });

  describe('when the grace period is out of range', () => {
    it.each([-1, 30 * 86400 + 1, 1.5])('should refuse %p as BAD_USER_INPUT on gracePeriodSeconds', (seconds) => {
      spec.given([keyCreated]).when(rotate(seconds)).thenThrows('BAD_USER_INPUT', 'gracePeriodSeconds');
    });

    it('should accept exactly 30 days', () => {
      spec.given([keyCreated]).when(rotate(30 * 86400)).then([rotated('2026-12-25T09:00:00.000Z')]);
    });
  });

  describe('when the key is deleted, another account\'s, or at another version', () => {
    it('should answer NOT_FOUND or CONFLICT and record nothing', () => {
      spec.given([keyCreated, { type: 'ApiKeyDeleted', data: base() }]).when(rotate(60)).thenThrows('NOT_FOUND');
      spec.given([keyCreated]).when(rotate(60, second, { accountId: 'other' })).thenThrows('NOT_FOUND');
      spec.given([keyCreated]).when(rotate(60, second, { expectedVersion: 3 })).thenThrows('CONFLICT');
    });
  });

  describe('when rotated again', () => {
    it('should carry the current status along for the new secret\'s index entry', () => {
      const later = '2026-11-25T09:30:00.000Z';
      const events = decide({ ...rotate(60, third), data: { ...rotate(60, third).data, now: later } }, foldEvents([keyCreated, rotated('2026-11-25T10:00:00.000Z'), disabledBy('OWNER')]));
      expect(events).toEqual([{ ...rotated('2026-11-25T09:31:00.000Z', second, third, later), data: { ...rotated('2026-11-25T09:31:00.000Z', second, third, later).data, status: 'DISABLED' } }]);
    });

    it('should refuse a new secret that equals a current one', () => {
      spec.given([keyCreated]).when(rotate(60, original)).thenThrows('CONFLICT');
    });
  });
});

describe('ApiKey expiry', () => {
  const update = (expiresAt: string | null, data = {}): ApiKeyCommand => ({ type: 'UpdateExpiry', data: { ...on(), expiresAt, ...data } });

  it('should set, move and clear the expiry', () => {
    spec.given([keyCreated]).when(update('2027-01-01T00:00:00.000Z')).then([{ type: 'ApiKeyExpiryUpdated', data: { ...base(), expiresAt: '2027-01-01T00:00:00.000Z' } }]);
    const withExpiry: ApiKeyEvent = { type: 'ApiKeyExpiryUpdated', data: { ...base(), expiresAt: '2027-01-01T00:00:00.000Z' } };
    spec.given([keyCreated, withExpiry]).when(update('2028-01-01T00:00:00.000Z')).then([{ type: 'ApiKeyExpiryUpdated', data: { ...base(), expiresAt: '2028-01-01T00:00:00.000Z' } }]);
    spec.given([keyCreated, withExpiry]).when(update(null)).then([{ type: 'ApiKeyExpiryUpdated', data: { ...base(), expiresAt: null } }]);
  });

  it('should do nothing when the expiry is unchanged', () => {
    spec.given([keyCreated]).when(update(null)).thenNothingHappens();
  });

  it('should refuse an expiry in the past as BAD_USER_INPUT on expiresAt, before looking at the key', () => {
    spec.given([]).when(update('2026-11-25T08:59:59.999Z')).thenThrows('BAD_USER_INPUT', 'expiresAt');
  });
});

describe('ApiKey leak report', () => {
  const leakReported = (reportedSecret: 'CURRENT' | 'PREVIOUS', masked = original.maskedKey, at = now): ApiKeyEvent => ({
    type: 'ApiKeyLeakReported',
    data: { ...base(at), reportedSecret, maskedKey: masked },
  });

  describe('when an enabled key\'s current secret is reported', () => {
    it('should record the report and disable the key with reason LEAKED', () => {
      spec.given([keyCreated]).when(report()).then([leakReported('CURRENT'), disabledBy('LEAKED')]);
    });
  });

  describe('when the key is already disabled by its owner', () => {
    it('should record the report only', () => {
      spec.given([keyCreated, disabledBy('OWNER')]).when(report()).then([leakReported('CURRENT')]);
    });
  });

  describe('when reported again while still disabled after a report', () => {
    it('should do nothing', () => {
      spec.given([keyCreated, leakReported('CURRENT'), disabledBy('LEAKED')]).when(report()).thenNothingHappens();
    });

    it('should act again once the owner has enabled the key', () => {
      spec.given([keyCreated, leakReported('CURRENT'), disabledBy('LEAKED'), enabled()]).when(report()).then([leakReported('CURRENT'), disabledBy('LEAKED')]);
    });
  });

  describe('when the rotated-out secret is reported during its grace period', () => {
    it('should record it as PREVIOUS, disable the key, and end the grace period', () => {
      const given = [keyCreated, rotated('2026-11-25T10:00:00.000Z')];
      spec.given(given).when(report(original)).then([leakReported('PREVIOUS'), disabledBy('LEAKED')]);
      const state = foldEvents([...given, leakReported('PREVIOUS'), disabledBy('LEAKED')]);
      expect(state.status === 'ACTIVE' && state.key.graceUntil).toBe(now);
    });
  });

  describe('when a secret that no longer verifies is reported', () => {
    it('should do nothing: a rotated-out secret after its grace period, or one the key never had', () => {
      spec.given([keyCreated, rotated('2026-11-25T08:30:00.000Z')]).when(report(original)).thenNothingHappens();
      spec.given([keyCreated]).when(report(third)).thenNothingHappens();
    });
  });
});

describe('Verification of a rotated-out secret', () => {
  const key = { keyId, accountId, status: 'ENABLED' as const, expiresAtMs: null, scope, allowsIp: compileIpAllowlist([]) };
  const request = { model: 'qwen-max', nowMs: Date.parse(now) };

  it('should be valid with the rotation deadline until the grace period ends', () => {
    expect(checkAccess({ ...key, graceUntilMs: Date.parse(now) + 1 }, request)).toEqual({ valid: true, reason: null, keyId, accountId, scope, rotationDeadlineMs: Date.parse(now) + 1, retryAfterSeconds: null, metadata: null });
  });

  it('should be NOT_FOUND, revealing nothing of the key, from the end of the grace period on', () => {
    expect(checkAccess({ ...key, graceUntilMs: Date.parse(now) }, request)).toEqual({ valid: false, reason: 'NOT_FOUND', keyId: null, accountId: null, scope: null, rotationDeadlineMs: null, retryAfterSeconds: null, metadata: null });
  });

  it('should carry no deadline for a current secret', () => {
    expect(checkAccess(key, request)).toMatchObject({ valid: true, rotationDeadlineMs: null });
  });
});

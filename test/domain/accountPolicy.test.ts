import type { AccountCommand, AccountEvent, AccountState } from '../../src/domain/account/account';
import { decideAccount, evolveAccount, initialAccountState, policyAsOf } from '../../src/domain/account/account';
import type { AccountPolicy } from '../../src/domain/account/policy';
import { NO_POLICY, expiryAfterRotation, newKeyExpiry } from '../../src/domain/account/policy';
import type { ApiKeyCommand } from '../../src/domain/apiKey/commands';
import { decide } from '../../src/domain/apiKey/decide';
import type { ApiKeyEvent } from '../../src/domain/apiKey/events';
import type { ApiKeyState } from '../../src/domain/apiKey/state';
import { evolve, initialState } from '../../src/domain/apiKey/state';
import { fingerprintOf, secretFromRandomBytes } from '../../src/domain/secret';
import { deciderSpecification } from '../support/deciderSpecification';
import { apiKeyCreated } from '../support/eventFixtures';

const account = deciderSpecification<AccountState, AccountCommand, AccountEvent>({ decide: decideAccount, evolve: evolveAccount, initialState: initialAccountState });
const apiKey = deciderSpecification<ApiKeyState, ApiKeyCommand, ApiKeyEvent>({ decide, evolve, initialState });

const accountId = 'acct-1';
const now = '2026-11-25T08:00:00.000Z';
const inDays = (days: number, from = now) => new Date(Date.parse(from) + days * 86_400_000).toISOString();
const setPolicy = (policy: Partial<AccountPolicy>): AccountCommand => ({ type: 'SetAccountPolicy', data: { accountId, policy, now } });
const policySet = (policy: Partial<AccountPolicy>): AccountEvent => ({ type: 'AccountPolicySet', data: { accountId, ...NO_POLICY, ...policy, occurredAt: now } });
const reserve = (expiresAt: string | null): AccountCommand => ({ type: 'ReserveKeySlot', data: { accountId, keyId: 'k1', now, defaultLimit: 50, expiresAt } });

describe('Account policy', () => {
  describe('when set', () => {
    it('should record the whole policy, settings left out as no rule', () => {
      account.given([]).when(setPolicy({ maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: 90 })).then([policySet({ maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: 90 })]);
      account.given([policySet({ maxKeyLifetimeDays: 365, expiryWarningDays: 7 })]).when(setPolicy({ unusedAfterDays: 30 })).then([policySet({ unusedAfterDays: 30 })]);
    });

    it('should treat setting the policy it has as a no-op', () => {
      account.given([policySet({ maxKeyLifetimeDays: 365 })]).when(setPolicy({ maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: null })).thenNothingHappens();
      account.given([]).when(setPolicy({})).thenNothingHappens();
    });

    it.each([
      [{ maxKeyLifetimeDays: 0 }, 'policy.maxKeyLifetimeDays'],
      [{ maxKeyLifetimeDays: 36_501 }, 'policy.maxKeyLifetimeDays'],
      [{ defaultKeyLifetimeDays: 1.5 }, 'policy.defaultKeyLifetimeDays'],
      [{ expiryWarningDays: -3 }, 'policy.expiryWarningDays'],
      [{ unusedAfterDays: 3651 }, 'policy.unusedAfterDays'],
      [{ maxKeyLifetimeDays: 30, defaultKeyLifetimeDays: 31 }, 'policy.defaultKeyLifetimeDays'],
    ])('should refuse %j with BAD_USER_INPUT on %s', (policy, field) => {
      account.given([]).when(setPolicy(policy)).thenThrows('BAD_USER_INPUT', field);
    });
  });

  describe('when a key slot is reserved for a new key', () => {
    const capped = policySet({ maxKeyLifetimeDays: 30 });
    it('should refuse an expiry past the maximum lifetime, or none, with BAD_USER_INPUT on expiresAt', () => {
      account.given([capped]).when(reserve(inDays(31))).thenThrows('BAD_USER_INPUT', 'expiresAt');
      account.given([capped]).when(reserve(null)).thenThrows('BAD_USER_INPUT', 'expiresAt');
    });

    it('should accept an expiry within it, and no expiry when the default lifetime gives one', () => {
      account.given([capped]).when(reserve(inDays(30))).then([{ type: 'AccountKeySlotReserved', data: { accountId, keyId: 'k1', occurredAt: now } }]);
      account.given([policySet({ maxKeyLifetimeDays: 30, defaultKeyLifetimeDays: 7 })]).when(reserve(null)).then([{ type: 'AccountKeySlotReserved', data: { accountId, keyId: 'k1', occurredAt: now } }]);
    });
  });

  describe('a new key\'s expiry', () => {
    it('should be the requested one, or now + the default lifetime when none was requested', () => {
      expect(newKeyExpiry({ ...NO_POLICY, defaultKeyLifetimeDays: 90 }, null, now)).toBe(inDays(90));
      expect(newKeyExpiry({ ...NO_POLICY, defaultKeyLifetimeDays: 90 }, inDays(5), now)).toBe(inDays(5));
      expect(newKeyExpiry(NO_POLICY, null, now)).toBeNull();
    });
  });

  describe('a rotation', () => {
    it('should bring the key within the maximum lifetime counted from the rotation, and leave a key that fits alone', () => {
      expect(expiryAfterRotation(30, null, now)).toBe(inDays(30));
      expect(expiryAfterRotation(30, inDays(400), now)).toBe(inDays(30));
      expect(expiryAfterRotation(30, inDays(10), now)).toBe(inDays(10));
      expect(expiryAfterRotation(null, null, now)).toBeNull();
    });
  });

  describe('as of an instant', () => {
    const setAt = (occurredAt: string, policy: Partial<AccountPolicy>): AccountEvent => ({ type: 'AccountPolicySet', data: { accountId, ...NO_POLICY, ...policy, occurredAt } });
    const reservedAt = (occurredAt: string): AccountEvent => ({ type: 'AccountKeySlotReserved', data: { accountId, keyId: 'k1', occurredAt } });
    const history = [setAt(now, { maxKeyLifetimeDays: 365 }), reservedAt(inDays(1)), setAt(inDays(2), { unusedAfterDays: 30 })];

    it('should be no rules before the first policy was set', () => {
      expect(policyAsOf(history, Date.parse(now) - 1)).toEqual(NO_POLICY);
      expect(policyAsOf([], Date.parse(now))).toEqual(NO_POLICY);
    });

    it('should be each policy from the instant it was set until the next, whatever else happened between', () => {
      expect(policyAsOf(history, Date.parse(now))).toEqual({ ...NO_POLICY, maxKeyLifetimeDays: 365 });
      expect(policyAsOf(history, Date.parse(inDays(2)) - 1)).toEqual({ ...NO_POLICY, maxKeyLifetimeDays: 365 });
      expect(policyAsOf(history, Date.parse(inDays(2)))).toEqual({ ...NO_POLICY, unusedAfterDays: 30 });
      expect(policyAsOf(history, Date.parse(inDays(2))).maxKeyLifetimeDays).toBeNull();
    });

    it('should be what folding the whole history gives, for an instant after it', () => {
      const folded = history.reduce(evolveAccount, initialAccountState());
      expect(policyAsOf(history, Date.parse(inDays(10)))).toEqual(folded.policy);
    });
  });
});

describe('ApiKey under an account policy', () => {
  const keyId = 'key-1';
  const created = '2026-11-01T08:00:00.000Z';
  const fingerprint = fingerprintOf(secretFromRandomBytes(Buffer.alloc(32, 7)));
  const newFingerprint = fingerprintOf(secretFromRandomBytes(Buffer.alloc(32, 9)));
  const key = apiKeyCreated({ keyId, accountId, occurredAt: created, secretHash: fingerprint.secretHash, maskedKey: fingerprint.maskedKey });
  const base = { keyId, accountId, occurredAt: now };

  describe('when its expiry changes', () => {
    const updateExpiry = (expiresAt: string | null, maxKeyLifetimeDays: number | null): ApiKeyCommand => ({ type: 'UpdateExpiry', data: { keyId, accountId, now, expiresAt, maxKeyLifetimeDays } });
    it('should refuse an expiry past now + the maximum lifetime, or clearing it, with BAD_USER_INPUT on expiresAt', () => {
      apiKey.given([key]).when(updateExpiry(inDays(31), 30)).thenThrows('BAD_USER_INPUT', 'expiresAt');
      apiKey.given([key]).when(updateExpiry(null, 30)).thenThrows('BAD_USER_INPUT', 'expiresAt');
    });

    it('should accept an expiry within it', () => {
      apiKey.given([key]).when(updateExpiry(inDays(30), 30)).then([{ type: 'ApiKeyExpiryUpdated', data: { ...base, expiresAt: inDays(30) } }]);
      apiKey.given([key]).when(updateExpiry(null, null)).thenNothingHappens();
    });
  });

  describe('when rotated', () => {
    const rotate = (maxKeyLifetimeDays: number | null): ApiKeyCommand => ({ type: 'RotateApiKey', data: { keyId, accountId, now, gracePeriodSeconds: 0, fingerprint: newFingerprint, maxKeyLifetimeDays } });
    it('should first bring the expiry within the maximum lifetime from now, in the same append', () => {
      const events = decide(rotate(30), [key].reduce(evolve, initialState()));
      expect(events.map((event) => event.type)).toEqual(['ApiKeyExpiryUpdated', 'ApiKeyRotated']);
      expect(events[0]).toEqual({ type: 'ApiKeyExpiryUpdated', data: { ...base, expiresAt: inDays(30) } });
      expect(events[1]?.data).toMatchObject({ expiresAt: inDays(30), secretHash: newFingerprint.secretHash });
    });

    it('should rotate alone when the key fits the policy or there is none', () => {
      expect(decide(rotate(null), [key].reduce(evolve, initialState())).map((event) => event.type)).toEqual(['ApiKeyRotated']);
      const fitting: ApiKeyEvent = { type: 'ApiKeyExpiryUpdated', data: { ...base, expiresAt: inDays(3) } };
      expect(decide(rotate(30), [key, fitting].reduce(evolve, initialState())).map((event) => event.type)).toEqual(['ApiKeyRotated']);
    });
  });
});

import type { AccountCommand, AccountEvent, AccountState } from '../../src/domain/account/account';
import { decideAccount, evolveAccount, initialAccountState } from '../../src/domain/account/account';
import { deciderSpecification } from '../support/deciderSpecification';

const spec = deciderSpecification<AccountState, AccountCommand, AccountEvent>({ decide: decideAccount, evolve: evolveAccount, initialState: initialAccountState });
const accountId = 'acct-1';
const now = '2026-11-25T08:00:00.000Z';
const reserved = (keyId: string): AccountEvent => ({ type: 'AccountKeySlotReserved', data: { accountId, keyId, occurredAt: now } });
const released = (keyId: string): AccountEvent => ({ type: 'AccountKeySlotReleased', data: { accountId, keyId, occurredAt: now } });
const reserve = (keyId: string, defaultLimit = 2): AccountCommand => ({ type: 'ReserveKeySlot', data: { accountId, keyId, now, defaultLimit } });

describe('Account key slots', () => {
  it('should reserve a slot while the account is under its limit', () => {
    spec.given([reserved('k1')]).when(reserve('k2')).then([reserved('k2')]);
  });

  it('should refuse a slot at the limit with QUOTA_EXCEEDED', () => {
    spec.given([reserved('k1'), reserved('k2')]).when(reserve('k3')).thenThrows('QUOTA_EXCEEDED');
  });

  it('should free a slot when a key is released', () => {
    spec.given([reserved('k1'), reserved('k2'), released('k1')]).when(reserve('k3')).then([reserved('k3')]);
  });

  it('should treat reserving a held slot and releasing a free one as no-ops', () => {
    spec.given([reserved('k1')]).when(reserve('k1')).thenNothingHappens();
    spec.given([]).when({ type: 'ReleaseKeySlot', data: { accountId, keyId: 'k9', now } }).thenNothingHappens();
  });

  it('should use an account limit over the default once one is set', () => {
    const limitSet: AccountEvent = { type: 'AccountKeyLimitSet', data: { accountId, limit: 1, occurredAt: now } };
    spec.given([limitSet, reserved('k1')]).when(reserve('k2', 50)).thenThrows('QUOTA_EXCEEDED');
  });

  it('should validate and record a new limit, and ignore the same limit', () => {
    spec.given([]).when({ type: 'SetAccountKeyLimit', data: { accountId, limit: 3, now } }).then([{ type: 'AccountKeyLimitSet', data: { accountId, limit: 3, occurredAt: now } }]);
    spec.given([{ type: 'AccountKeyLimitSet', data: { accountId, limit: 3, occurredAt: now } }]).when({ type: 'SetAccountKeyLimit', data: { accountId, limit: 3, now } }).thenNothingHappens();
    spec.given([]).when({ type: 'SetAccountKeyLimit', data: { accountId, limit: -1, now } }).thenThrows('BAD_USER_INPUT', 'limit');
    spec.given([]).when({ type: 'SetAccountKeyLimit', data: { accountId, limit: 1.5, now } }).thenThrows('BAD_USER_INPUT', 'limit');
  });
});

describe('An account id an admin names', () => {
  it('should follow the rule of the token claim: 1 to 128 characters, not blank, no control characters, any script', () => {
    const setLimit = (id: string): AccountCommand => ({ type: 'SetAccountKeyLimit', data: { accountId: id, limit: 3, now } });
    for (const bad of ['', '   ', 'a'.repeat(129), 'acct\r\nx', 'acct\u0000', 'acct\ud800']) spec.given([]).when(setLimit(bad)).thenThrows('BAD_USER_INPUT', 'accountId');
    for (const good of ['租户-42', 'b'.repeat(128)]) spec.given([]).when(setLimit(good)).then([{ type: 'AccountKeyLimitSet', data: { accountId: good, limit: 3, occurredAt: now } }]);
  });
});

import type { Decider } from '../decider';
import { DomainError, assertNever, badInput } from '../errors';
import { principalIdProblem } from '../rules/principalId';
import type { Instant } from '../time';
import type { AccountPolicy } from './policy';
import { NO_POLICY, newKeyExpiry, parsePolicy, samePolicy } from './policy';

/**
 * An account's key slots. The per-account limit is a cross-key invariant, so it lives in one
 * stream per account: creating a key first reserves a slot there (the append's expected
 * revision serialises concurrent creates), deleting a key releases it.
 */
export type AccountEvent =
  | { readonly type: 'AccountKeyLimitSet'; readonly data: { accountId: string; limit: number; occurredAt: Instant } }
  | { readonly type: 'AccountKeySlotReserved'; readonly data: { accountId: string; keyId: string; occurredAt: Instant } }
  | { readonly type: 'AccountKeySlotReleased'; readonly data: { accountId: string; keyId: string; occurredAt: Instant } }
  /** The whole policy as it stands from now on (a setting left out is null: no rule). */
  | { readonly type: 'AccountPolicySet'; readonly data: AccountPolicy & { accountId: string; occurredAt: Instant } };

export const ACCOUNT_EVENT_TYPES: readonly AccountEvent['type'][] = ['AccountKeyLimitSet', 'AccountKeySlotReserved', 'AccountKeySlotReleased', 'AccountPolicySet'];
export const isAccountEvent = (event: { type: string }): event is AccountEvent =>
  (ACCOUNT_EVENT_TYPES as readonly string[]).includes(event.type);

export type AccountCommand =
  /** `expiresAt`: the new key's requested expiry, checked against the policy here, where the account's stream serialises it with policy changes. */
  | { readonly type: 'ReserveKeySlot'; readonly data: { accountId: string; keyId: string; now: Instant; defaultLimit: number; expiresAt?: Instant | null } }
  | { readonly type: 'ReleaseKeySlot'; readonly data: { accountId: string; keyId: string; now: Instant } }
  | { readonly type: 'SetAccountKeyLimit'; readonly data: { accountId: string; limit: number; now: Instant } }
  | { readonly type: 'SetAccountPolicy'; readonly data: { accountId: string; policy: Partial<Record<keyof AccountPolicy, number | null | undefined>>; now: Instant } };

export interface AccountState {
  /** Null while the account uses the configured default. */
  readonly limit: number | null;
  /** Keys holding a slot, with the instant each was reserved. */
  readonly slots: ReadonlyMap<string, Instant>;
  readonly policy: AccountPolicy;
}

export const KEY_LIMIT_MAX = 10_000;
/** The limit of an account that has none of its own, unless configured otherwise (KEY_LIMIT_DEFAULT). */
export const DEFAULT_KEY_LIMIT = 50;

export const initialAccountState = (): AccountState => ({ limit: null, slots: new Map(), policy: NO_POLICY });

export const effectiveLimit = (state: AccountState, defaultLimit: number): number => state.limit ?? defaultLimit;

export function evolveAccount(state: AccountState, event: AccountEvent): AccountState {
  switch (event.type) {
    case 'AccountKeyLimitSet':
      return { ...state, limit: event.data.limit };
    case 'AccountKeySlotReserved': {
      const slots = new Map(state.slots);
      slots.set(event.data.keyId, event.data.occurredAt);
      return { ...state, slots };
    }
    case 'AccountKeySlotReleased': {
      const slots = new Map(state.slots);
      slots.delete(event.data.keyId);
      return { ...state, slots };
    }
    case 'AccountPolicySet':
      return { ...state, policy: policySetBy(event) };
    default:
      return assertNever(event);
  }
}

const policySetBy = (event: Extract<AccountEvent, { type: 'AccountPolicySet' }>): AccountPolicy => {
  const { maxKeyLifetimeDays, defaultKeyLifetimeDays, expiryWarningDays, unusedAfterDays } = event.data;
  return { maxKeyLifetimeDays, defaultKeyLifetimeDays, expiryWarningDays, unusedAfterDays };
};

/**
 * The policy as it stood at `asOfMs`: the fold of the account's events (in log order) up to that
 * instant. Events after it are left out, and so is everything from the first one after it on.
 */
export function policyAsOf(events: Iterable<AccountEvent>, asOfMs: number): AccountPolicy {
  let policy = NO_POLICY;
  for (const event of events) {
    if (Date.parse(event.data.occurredAt) > asOfMs) break;
    if (event.type === 'AccountPolicySet') policy = policySetBy(event);
  }
  return policy;
}

/** The fold of `events` onto `state`, as evolveAccount one by one gives it, copying the slots once. */
export function evolveAccountAll(state: AccountState, events: readonly AccountEvent[]): AccountState {
  if (events.length === 0) return state;
  let limit = state.limit;
  let policy = state.policy;
  const slots = new Map(state.slots);
  for (const event of events) {
    switch (event.type) {
      case 'AccountKeyLimitSet':
        limit = event.data.limit;
        break;
      case 'AccountPolicySet':
        policy = policySetBy(event);
        break;
      case 'AccountKeySlotReserved':
        slots.set(event.data.keyId, event.data.occurredAt);
        break;
      case 'AccountKeySlotReleased':
        slots.delete(event.data.keyId);
        break;
      default:
        assertNever(event);
    }
  }
  return { ...state, limit, slots, policy };
}

/** Reserving an already held slot and releasing a free one are no-ops, so retries are safe. */
export function decideAccount(command: AccountCommand, state: AccountState): AccountEvent[] {
  const { data } = command;
  switch (command.type) {
    case 'ReserveKeySlot': {
      if (state.slots.has(command.data.keyId)) return [];
      if (command.data.expiresAt !== undefined) newKeyExpiry(state.policy, command.data.expiresAt, data.now);
      const limit = effectiveLimit(state, command.data.defaultLimit);
      if (state.slots.size >= limit) {
        throw new DomainError('QUOTA_EXCEEDED', `the account holds ${state.slots.size} keys, its limit is ${limit}`);
      }
      return [{ type: 'AccountKeySlotReserved', data: { accountId: data.accountId, keyId: command.data.keyId, occurredAt: data.now } }];
    }
    case 'ReleaseKeySlot':
      return state.slots.has(command.data.keyId)
        ? [{ type: 'AccountKeySlotReleased', data: { accountId: data.accountId, keyId: command.data.keyId, occurredAt: data.now } }]
        : [];
    case 'SetAccountKeyLimit': {
      const { limit } = command.data;
      if (!Number.isInteger(limit) || limit < 0 || limit > KEY_LIMIT_MAX) {
        throw badInput('limit', `limit must be a whole number from 0 to ${KEY_LIMIT_MAX}`);
      }
      // An admin names any account: the same rule as a token's account claim, or the limit would land on an account no token can name.
      const problem = principalIdProblem(data.accountId);
      if (problem) throw badInput('accountId', `accountId ${problem}`);
      return limit === state.limit ? [] : [{ type: 'AccountKeyLimitSet', data: { accountId: data.accountId, limit, occurredAt: data.now } }];
    }
    case 'SetAccountPolicy': {
      const policy = parsePolicy(command.data.policy);
      const problem = principalIdProblem(data.accountId);
      if (problem) throw badInput('accountId', `accountId ${problem}`);
      return samePolicy(policy, state.policy) ? [] : [{ type: 'AccountPolicySet', data: { accountId: data.accountId, ...policy, occurredAt: data.now } }];
    }
    default:
      return assertNever(command);
  }
}

/** One account's stream: `account-<id>`. */
export const accountDecider: Decider<AccountState, AccountCommand, AccountEvent> = {
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccountState,
  evolveAll: evolveAccountAll,
};

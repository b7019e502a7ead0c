import { registerEnumType } from 'type-graphql';
import { KEY_STATUSES, STATUS_REASONS } from '../../domain/apiKey/events';
import { SCOPE_MODES } from '../../domain/rules/scope';
import { VERIFY_FAILURES } from '../../domain/verification';
import { USAGE_GRANULARITIES } from '../../domain/usageWindows';
import { KEY_STATES } from '../../application/liveFeedPublisher';
import { API_KEY_ORDERS } from '../../readModel/keyList';

// Every GraphQL enum is the domain's (or the read side's) list of values, so the two cannot drift apart.
type EnumOf<Values extends readonly string[]> = { readonly [Value in Values[number]]: Value };
const enumOf = <const Values extends readonly string[]>(values: Values): EnumOf<Values> =>
  Object.fromEntries(values.map((value) => [value, value])) as EnumOf<Values>;

export const ApiKeyStatus = enumOf(KEY_STATUSES);
export type ApiKeyStatus = (typeof KEY_STATUSES)[number];
export const ScopeMode = enumOf(SCOPE_MODES);
export type ScopeMode = (typeof SCOPE_MODES)[number];
export const ApiKeyOrder = enumOf(API_KEY_ORDERS);
export type ApiKeyOrder = (typeof API_KEY_ORDERS)[number];
export const VerifyFailure = enumOf(VERIFY_FAILURES);
export type VerifyFailure = (typeof VERIFY_FAILURES)[number];
export const UsageGranularity = enumOf(USAGE_GRANULARITIES);
export type UsageGranularity = (typeof USAGE_GRANULARITIES)[number];
export const KeyState = enumOf(KEY_STATES);
export type KeyState = (typeof KEY_STATES)[number];
export const StatusReason = enumOf(STATUS_REASONS);
export type StatusReason = (typeof STATUS_REASONS)[number];

registerEnumType(StatusReason, { name: 'StatusReason', description: 'Why a key was disabled or enabled: by its owner, or automatically because one of its secrets was reported leaked.' });
registerEnumType(ApiKeyStatus, { name: 'ApiKeyStatus' });
registerEnumType(ScopeMode, { name: 'ScopeMode', description: 'ALL: every model and service of the account. RESTRICTED: only those listed.' });
registerEnumType(ApiKeyOrder, { name: 'ApiKeyOrder' });
registerEnumType(VerifyFailure, { name: 'VerifyFailure' });
registerEnumType(KeyState, { name: 'KeyState' });
registerEnumType(UsageGranularity, { name: 'UsageGranularity' });

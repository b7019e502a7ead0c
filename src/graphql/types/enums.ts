import { registerEnumType } from 'type-graphql';

export enum ApiKeyStatus {
  ENABLED = 'ENABLED',
  DISABLED = 'DISABLED',
}
export enum ScopeMode {
  ALL = 'ALL',
  RESTRICTED = 'RESTRICTED',
}
export enum ApiKeyOrder {
  CREATED_AT_DESC = 'CREATED_AT_DESC',
  CREATED_AT_ASC = 'CREATED_AT_ASC',
  LAST_USED_DESC = 'LAST_USED_DESC',
  NAME_ASC = 'NAME_ASC',
}
export enum VerifyFailure {
  MALFORMED = 'MALFORMED',
  NOT_FOUND = 'NOT_FOUND',
  DISABLED = 'DISABLED',
  EXPIRED = 'EXPIRED',
  IP_NOT_ALLOWED = 'IP_NOT_ALLOWED',
  SCOPE_DENIED = 'SCOPE_DENIED',
}
export enum KeyState {
  ENABLED = 'ENABLED',
  DISABLED = 'DISABLED',
  DELETED = 'DELETED',
}

export enum StatusReason {
  OWNER = 'OWNER',
  LEAKED = 'LEAKED',
}

registerEnumType(StatusReason, { name: 'StatusReason', description: 'Why a key was disabled or enabled: by its owner, or automatically because one of its secrets was reported leaked.' });
registerEnumType(ApiKeyStatus, { name: 'ApiKeyStatus' });
registerEnumType(ScopeMode, { name: 'ScopeMode', description: 'ALL: every model and service of the account. RESTRICTED: only those listed.' });
registerEnumType(ApiKeyOrder, { name: 'ApiKeyOrder' });
registerEnumType(VerifyFailure, { name: 'VerifyFailure' });
registerEnumType(KeyState, { name: 'KeyState' });

import type { AccessScope } from '../rules/scope';
import type { Instant } from '../time';

/**
 * Lifecycle events of one API key: each one changes the key's version and is listed in its
 * history. Every event names its key, account and the instant it happened; the actor and
 * correlation ids travel in the event metadata, added by the application layer.
 */
interface KeyEvent<Type extends string, Data> {
  readonly type: Type;
  readonly data: Readonly<Data & { keyId: string; accountId: string; occurredAt: Instant }>;
}

export type KeyStatus = 'ENABLED' | 'DISABLED';
/** Why a key was disabled or enabled: by its owner, or automatically because it was reported leaked. */
export type StatusReason = 'OWNER' | 'LEAKED';

export type ApiKeyCreated = KeyEvent<
  'ApiKeyCreated',
  {
    name: string;
    description: string | null;
    region: string;
    secretHash: string;
    maskedKey: string;
    scope: AccessScope;
    ipAllowlist: readonly string[];
    expiresAt: Instant | null;
    /** The caller agreed to the terms and understood the risks when creating the key. */
    termsAccepted: true;
  }
>;
export type ApiKeyRenamed = KeyEvent<'ApiKeyRenamed', { name: string; previousName: string }>;
export type ApiKeyDescriptionUpdated = KeyEvent<'ApiKeyDescriptionUpdated', { description: string | null }>;
export type ApiKeyStatusChanged = KeyEvent<'ApiKeyStatusChanged', { status: KeyStatus; reason: StatusReason }>;
export type ApiKeyScopeUpdated = KeyEvent<'ApiKeyScopeUpdated', { scope: AccessScope; ipAllowlist: readonly string[] }>;
export type ApiKeyDeleted = KeyEvent<'ApiKeyDeleted', Record<never, never>>;

export type ApiKeyEvent =
  | ApiKeyCreated
  | ApiKeyRenamed
  | ApiKeyDescriptionUpdated
  | ApiKeyStatusChanged
  | ApiKeyScopeUpdated
  | ApiKeyDeleted;

export type ApiKeyEventType = ApiKeyEvent['type'];

export const API_KEY_EVENT_TYPES: readonly ApiKeyEventType[] = [
  'ApiKeyCreated',
  'ApiKeyRenamed',
  'ApiKeyDescriptionUpdated',
  'ApiKeyStatusChanged',
  'ApiKeyScopeUpdated',
  'ApiKeyDeleted',
];

export const isApiKeyEvent = (event: { type: string }): event is ApiKeyEvent =>
  (API_KEY_EVENT_TYPES as readonly string[]).includes(event.type);

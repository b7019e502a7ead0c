import type { KeyLimits } from '../rules/limits';
import type { KeyMetadata } from '../rules/metadata';
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

export const KEY_STATUSES = ['ENABLED', 'DISABLED'] as const;
export type KeyStatus = (typeof KEY_STATUSES)[number];
/** Why a key was disabled or enabled: by its owner, or automatically because it was reported leaked. */
export const STATUS_REASONS = ['OWNER', 'LEAKED'] as const;
export type StatusReason = (typeof STATUS_REASONS)[number];

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
  } & LimitsAndMetadata
>;
/**
 * Present only when set (a key created without limits or metadata records neither), so events
 * written before limits existed read the same as a key created without them.
 */
interface LimitsAndMetadata {
  limits?: KeyLimits;
  metadata?: KeyMetadata;
}
export type ApiKeyRenamed = KeyEvent<'ApiKeyRenamed', { name: string; previousName: string }>;
export type ApiKeyDescriptionUpdated = KeyEvent<'ApiKeyDescriptionUpdated', { description: string | null }>;
export type ApiKeyStatusChanged = KeyEvent<'ApiKeyStatusChanged', { status: KeyStatus; reason: StatusReason }>;
export type ApiKeyScopeUpdated = KeyEvent<'ApiKeyScopeUpdated', { scope: AccessScope; ipAllowlist: readonly string[] }>;
export type ApiKeyDeleted = KeyEvent<'ApiKeyDeleted', Record<never, never>>;
/**
 * The key got a new secret. The rotated-out secret keeps verifying until `graceUntil` (the
 * rotation instant itself for no grace). Only hashes are recorded. The key's status, scope,
 * allowlist and expiry travel along so that the hashed-key index can give the new hash its entry
 * from this event alone.
 */
export type ApiKeyRotated = KeyEvent<
  'ApiKeyRotated',
  {
    secretHash: string;
    maskedKey: string;
    previousSecretHash: string;
    previousMaskedKey: string;
    graceUntil: Instant;
    status: KeyStatus;
    scope: AccessScope;
    ipAllowlist: readonly string[];
    expiresAt: Instant | null;
  } & LimitsAndMetadata
>;
export type ApiKeyExpiryUpdated = KeyEvent<'ApiKeyExpiryUpdated', { expiresAt: Instant | null }>;
/** The key's request and token limits (null: none of that kind), effective for the next verification. */
export type ApiKeyLimitsUpdated = KeyEvent<'ApiKeyLimitsUpdated', { limits: KeyLimits }>;
/** The owner's metadata, returned by every valid verification; null removes it. */
export type ApiKeyMetadataUpdated = KeyEvent<'ApiKeyMetadataUpdated', { metadata: KeyMetadata | null }>;
/** Which of the key's live secrets was reported: the current one, or the rotated-out one still in its grace period. */
export type ReportedSecret = 'CURRENT' | 'PREVIOUS';
/**
 * Someone presented one of the key's live secrets as leaked. Followed in the same append by a
 * status change to DISABLED with reason LEAKED when the key was enabled; a reported PREVIOUS
 * secret's grace period ends at once.
 */
export type ApiKeyLeakReported = KeyEvent<'ApiKeyLeakReported', { reportedSecret: ReportedSecret; maskedKey: string }>;

export type ApiKeyEvent =
  | ApiKeyCreated
  | ApiKeyRenamed
  | ApiKeyDescriptionUpdated
  | ApiKeyStatusChanged
  | ApiKeyScopeUpdated
  | ApiKeyDeleted
  | ApiKeyRotated
  | ApiKeyExpiryUpdated
  | ApiKeyLeakReported
  | ApiKeyLimitsUpdated
  | ApiKeyMetadataUpdated;

export type ApiKeyEventType = ApiKeyEvent['type'];

/**
 * Whether an event can change how the key's secrets verify (status, scope, allowlist, expiry,
 * secrets, existence). A creation cannot: before it no secret of the key verified. Written as a
 * record over the union, so a new event type must say.
 */
const CHANGES_VERIFICATION: { readonly [Type in ApiKeyEventType]: boolean } = {
  ApiKeyCreated: false,
  ApiKeyRenamed: false,
  ApiKeyDescriptionUpdated: false,
  ApiKeyStatusChanged: true,
  ApiKeyScopeUpdated: true,
  ApiKeyDeleted: true,
  ApiKeyRotated: true,
  ApiKeyExpiryUpdated: true,
  ApiKeyLeakReported: true,
  // Verification enforces the limits and answers with the metadata.
  ApiKeyLimitsUpdated: true,
  ApiKeyMetadataUpdated: true,
};

export const API_KEY_EVENT_TYPES = Object.keys(CHANGES_VERIFICATION) as readonly ApiKeyEventType[];

/** True for every event type that may change a key's verification, unknown ones included. */
export const changesVerification = (type: string): boolean => !Object.hasOwn(CHANGES_VERIFICATION, type) || CHANGES_VERIFICATION[type as ApiKeyEventType];

export const isApiKeyEvent = (event: { type: string }): event is ApiKeyEvent =>
  (API_KEY_EVENT_TYPES as readonly string[]).includes(event.type);

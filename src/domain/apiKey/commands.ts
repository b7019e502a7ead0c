import type { KeyLimitsInput } from '../rules/limits';
import type { AccessScopeInput } from '../rules/scope';
import type { SecretFingerprint } from '../secret';
import type { Instant } from '../time';
import type { KeyStatus } from './events';

/**
 * Commands on one API key, as the API hands them over: raw input plus what the domain may not
 * produce itself (the time, the new id, the secret's fingerprint). `accountId` is the caller's
 * account; `expectedVersion`, when given, must match the key's version.
 */
interface KeyCommand<Type extends string, Data> {
  readonly type: Type;
  readonly data: Readonly<Data & { keyId: string; accountId: string; now: Instant; expectedVersion?: number | null }>;
}

export type CreateApiKey = KeyCommand<
  'CreateApiKey',
  {
    name: string;
    description?: string | null;
    region: string;
    scope?: AccessScopeInput | null;
    ipAllowlist?: readonly string[] | null;
    expiresAt?: Instant | null;
    acceptTerms: boolean;
    fingerprint: SecretFingerprint;
    limits?: KeyLimitsInput | null;
    /** Raw JSON as the caller sent it; the domain checks it. */
    metadata?: unknown;
  }
>;
export type RenameApiKey = KeyCommand<'RenameApiKey', { name: string }>;
export type UpdateDescription = KeyCommand<'UpdateDescription', { description?: string | null }>;
export type SetKeyStatus = KeyCommand<'SetKeyStatus', { status: KeyStatus }>;
export type UpdateScope = KeyCommand<'UpdateScope', { scope: AccessScopeInput; ipAllowlist?: readonly string[] | null }>;
export type DeleteApiKey = KeyCommand<'DeleteApiKey', Record<never, never>>;

/** `fingerprint` is the new secret's; the secret itself never reaches the domain. */
/** `maxKeyLifetimeDays`: the account policy's maximum, as the command side read it (absent: no rule). */
export type RotateApiKey = KeyCommand<'RotateApiKey', { gracePeriodSeconds: number; fingerprint: SecretFingerprint; maxKeyLifetimeDays?: number | null }>;
export type UpdateExpiry = KeyCommand<'UpdateExpiry', { expiresAt?: Instant | null; maxKeyLifetimeDays?: number | null }>;
export type UpdateLimits = KeyCommand<'UpdateLimits', { limits: KeyLimitsInput }>;
export type UpdateMetadata = KeyCommand<'UpdateMetadata', { metadata?: unknown }>;
/**
 * From an unauthenticated reporter: `accountId` is the key's own (found by the hash), and the
 * hash and mask are those of the reported secret.
 */
export type ReportLeakedKey = KeyCommand<'ReportLeakedKey', { reported: SecretFingerprint }>;

export type ApiKeyCommand =
  | CreateApiKey
  | RenameApiKey
  | UpdateDescription
  | SetKeyStatus
  | UpdateScope
  | DeleteApiKey
  | RotateApiKey
  | UpdateExpiry
  | UpdateLimits
  | UpdateMetadata
  | ReportLeakedKey;

import { assertNever } from '../errors';
import type { KeyLimits } from '../rules/limits';
import { limitsOrNone } from '../rules/limits';
import type { KeyMetadata } from '../rules/metadata';
import type { AccessScope } from '../rules/scope';
import type { Instant } from '../time';
import type { ApiKeyEvent, KeyStatus, ReportedSecret } from './events';

/** A key as its events describe it: what `decide` needs, and what `asOf` shows. */
export interface ApiKeySnapshot {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly description: string | null;
  readonly region: string;
  readonly maskedKey: string;
  readonly secretHash: string;
  /** The rotated-out secret's hash, live until `graceUntil`; null before the first rotation. */
  readonly previousSecretHash: string | null;
  readonly graceUntil: Instant | null;
  /** Reported leaked since it was last enabled: further reports change nothing until the owner enables it. */
  readonly leakReported: boolean;
  readonly status: KeyStatus;
  readonly scope: AccessScope;
  readonly ipAllowlist: readonly string[];
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
  readonly expiresAt: Instant | null;
  readonly limits: KeyLimits;
  readonly metadata: KeyMetadata | null;
  /** Number of lifecycle events so far. */
  readonly version: number;
}

export type ApiKeyState =
  | { readonly status: 'NONE' }
  | { readonly status: 'ACTIVE'; readonly key: ApiKeySnapshot }
  | { readonly status: 'DELETED'; readonly key: ApiKeySnapshot; readonly deletedAt: Instant };

export const initialState = (): ApiKeyState => ({ status: 'NONE' });

/** The key's version in any state (0 before creation). */
export const versionOf = (state: ApiKeyState): number => (state.status === 'NONE' ? 0 : state.key.version);

export function evolve(state: ApiKeyState, event: ApiKeyEvent): ApiKeyState {
  if (event.type === 'ApiKeyCreated') {
    const { data } = event;
    return {
      status: 'ACTIVE',
      key: {
        id: data.keyId,
        accountId: data.accountId,
        name: data.name,
        description: data.description,
        region: data.region,
        maskedKey: data.maskedKey,
        secretHash: data.secretHash,
        previousSecretHash: null,
        graceUntil: null,
        leakReported: false,
        status: 'ENABLED',
        scope: data.scope,
        ipAllowlist: data.ipAllowlist,
        createdAt: data.occurredAt,
        updatedAt: data.occurredAt,
        expiresAt: data.expiresAt,
        limits: limitsOrNone(data.limits),
        metadata: data.metadata ?? null,
        version: 1,
      },
    };
  }
  if (state.status !== 'ACTIVE') return state; // nothing follows a deletion; nothing precedes a creation
  const changed = (patch: Partial<ApiKeySnapshot>): ApiKeyState => ({
    status: 'ACTIVE',
    key: { ...state.key, ...patch, updatedAt: event.data.occurredAt, version: state.key.version + 1 },
  });
  switch (event.type) {
    case 'ApiKeyRenamed':
      return changed({ name: event.data.name });
    case 'ApiKeyDescriptionUpdated':
      return changed({ description: event.data.description });
    case 'ApiKeyStatusChanged':
      return changed({ status: event.data.status, leakReported: event.data.status === 'ENABLED' ? false : state.key.leakReported });
    case 'ApiKeyScopeUpdated':
      return changed({ scope: event.data.scope, ipAllowlist: event.data.ipAllowlist });
    case 'ApiKeyRotated': {
      const { secretHash, maskedKey, previousSecretHash, graceUntil } = event.data;
      return changed({ secretHash, maskedKey, previousSecretHash, graceUntil });
    }
    case 'ApiKeyExpiryUpdated':
      return changed({ expiresAt: event.data.expiresAt });
    case 'ApiKeyLimitsUpdated':
      return changed({ limits: event.data.limits });
    case 'ApiKeyMetadataUpdated':
      return changed({ metadata: event.data.metadata });
    case 'ApiKeyLeakReported':
      // A leaked rotated-out secret stops at once.
      return changed({ leakReported: true, graceUntil: event.data.reportedSecret === 'PREVIOUS' ? event.data.occurredAt : state.key.graceUntil });
    case 'ApiKeyDeleted':
      return {
        status: 'DELETED',
        key: { ...state.key, updatedAt: event.data.occurredAt, version: state.key.version + 1 },
        deletedAt: event.data.occurredAt,
      };
    default:
      return assertNever(event);
  }
}

/** Which of the key's secrets has this hash and still verifies at `now`: the current one, or the rotated-out one in its grace period. */
export function liveSecret(key: ApiKeySnapshot, secretHash: string, now: Instant): ReportedSecret | null {
  if (secretHash === key.secretHash) return 'CURRENT';
  if (secretHash === key.previousSecretHash && key.graceUntil !== null && Date.parse(key.graceUntil) > Date.parse(now)) return 'PREVIOUS';
  return null;
}

export const foldEvents = (events: Iterable<ApiKeyEvent>, state: ApiKeyState = initialState()): ApiKeyState => {
  let current = state;
  for (const event of events) current = evolve(current, event);
  return current;
};

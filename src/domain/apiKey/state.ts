import { assertNever } from '../errors';
import type { AccessScope } from '../rules/scope';
import type { Instant } from '../time';
import type { ApiKeyEvent, KeyStatus } from './events';

/** A key as its events describe it: what `decide` needs, and what `asOf` shows. */
export interface ApiKeySnapshot {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly description: string | null;
  readonly region: string;
  readonly maskedKey: string;
  readonly secretHash: string;
  readonly status: KeyStatus;
  readonly scope: AccessScope;
  readonly ipAllowlist: readonly string[];
  readonly createdAt: Instant;
  readonly updatedAt: Instant;
  readonly expiresAt: Instant | null;
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
        status: 'ENABLED',
        scope: data.scope,
        ipAllowlist: data.ipAllowlist,
        createdAt: data.occurredAt,
        updatedAt: data.occurredAt,
        expiresAt: data.expiresAt,
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
      return changed({ status: event.data.status });
    case 'ApiKeyScopeUpdated':
      return changed({ scope: event.data.scope, ipAllowlist: event.data.ipAllowlist });
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

export const foldEvents = (events: Iterable<ApiKeyEvent>, state: ApiKeyState = initialState()): ApiKeyState => {
  let current = state;
  for (const event of events) current = evolve(current, event);
  return current;
};

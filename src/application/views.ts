import type { ApiKeySnapshot } from '../domain/apiKey/state';
import type { AccessScope } from '../domain/rules/scope';
import type { ApiKeyDocument } from '../../projections/readModel';
import type { JSONObject, Position } from './ports/eventStore';
import { chainLinkOf, keyIdOfStream } from './streams';

/** A key as the API returns it, whether read from the read model or rebuilt from events. */
export interface ApiKeyView {
  id: string;
  accountId: string;
  name: string;
  description: string | null;
  region: string;
  maskedKey: string;
  status: 'ENABLED' | 'DISABLED';
  scope: AccessScope;
  ipAllowlist: readonly string[];
  createdAt: Date;
  updatedAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  version: number;
}

export const viewFromDocument = (doc: ApiKeyDocument): ApiKeyView => ({
  id: doc._id,
  accountId: doc.accountId,
  name: doc.name,
  description: doc.description,
  region: doc.region,
  maskedKey: doc.maskedKey,
  status: doc.status,
  scope: doc.scope,
  ipAllowlist: doc.ipAllowlist,
  createdAt: doc.createdAt,
  updatedAt: doc.updatedAt,
  lastUsedAt: doc.lastUsedAt,
  expiresAt: doc.expiresAt,
  version: doc.version,
});

export const viewFromSnapshot = (key: ApiKeySnapshot, lastUsedAt: Date | null): ApiKeyView => ({
  id: key.id,
  accountId: key.accountId,
  name: key.name,
  description: key.description,
  region: key.region,
  maskedKey: key.maskedKey,
  status: key.status,
  scope: key.scope,
  ipAllowlist: key.ipAllowlist,
  createdAt: new Date(key.createdAt),
  updatedAt: new Date(key.updatedAt),
  lastUsedAt,
  expiresAt: key.expiresAt === null ? null : new Date(key.expiresAt),
  version: key.version,
});

/** One entry of a key's history, as `apiKeyHistory` and `apiKeyEvents` show it. */
export interface ApiKeyEventView {
  id: string;
  keyId: string;
  accountId: string;
  type: string;
  version: number;
  occurredAt: Date;
  actor: string;
  data: JSONObject;
  position: Position;
  /** The event's hash chain link (see src/domain/audit/hashChain.ts); null for an event written without one. */
  chainLink: string | null;
}

// What the event data holds for the service's own use and a history reader does not need.
const INTERNAL_FIELDS = new Set(['secretHash', 'previousSecretHash', 'keyId', 'accountId', 'occurredAt']);

export function eventView(event: {
  id: string;
  type: string;
  streamId: string;
  revision: number | bigint;
  data: JSONObject;
  metadata: JSONObject | undefined;
  position: Position;
}): ApiKeyEventView {
  const actor = event.metadata?.['actor'];
  return {
    id: event.id,
    keyId: keyIdOfStream(event.streamId) ?? String(event.data['keyId']),
    accountId: String(event.data['accountId']),
    type: event.type,
    version: Number(event.revision) + 1,
    occurredAt: new Date(String(event.data['occurredAt'])),
    actor: typeof actor === 'string' ? actor : 'system',
    data: Object.fromEntries(Object.entries(event.data).filter(([field]) => !INTERNAL_FIELDS.has(field))),
    position: event.position,
    chainLink: chainLinkOf(event) ?? null,
  };
}

export interface QuotaView {
  limit: number;
  used: number;
}

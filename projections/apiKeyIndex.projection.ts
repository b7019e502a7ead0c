import type { AnyBulkWriteOperation } from '../src/ports/collection';
import { keyIdOfStream } from '../src/eventLog/streams';
import type { ApiKeyEvent } from '../src/domain/apiKey/events';
import { isApiKeyEvent } from '../src/domain/apiKey/events';
import { assertNever } from '../src/domain/errors';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import type { KeyIndexDocument } from '../src/readModel/documents';
import { limitsOrNone } from '../src/domain/rules/limits';

const date = (instant: string | null): Date | null => (instant === null ? null : new Date(instant));

/**
 * The hashed-key index behind verifyApiKey: one document per secret hash, holding only what the
 * checks need. A key's changes apply to all of its hashes (a rotated key has several). Renames and
 * descriptions do not touch it.
 */
export function projectKeyIndex(projected: ProjectedEvent): AnyBulkWriteOperation[] {
  const keyId = keyIdOfStream(projected.streamId);
  if (keyId === null || !isApiKeyEvent(projected)) return [];
  const event = projected as unknown as ApiKeyEvent;
  const { revision } = projected;
  const newer = { revision: { $lt: revision } };
  const change = (fields: Partial<KeyIndexDocument>): AnyBulkWriteOperation[] => [
    { updateMany: { filter: { keyId, ...newer }, update: { $set: { ...fields, revision } } } },
  ];
  const entry = (fields: Pick<KeyIndexDocument, 'accountId' | 'status' | 'scope' | 'ipAllowlist' | 'expiresAt' | 'limits' | 'metadata'>): Omit<KeyIndexDocument, '_id'> => ({
    keyId,
    ...fields,
    deleted: false,
    graceUntil: null,
    revision,
  });
  switch (event.type) {
    case 'ApiKeyCreated': {
      const { data } = event;
      const fields = entry({ accountId: data.accountId, status: 'ENABLED', scope: data.scope, ipAllowlist: [...data.ipAllowlist], expiresAt: date(data.expiresAt), limits: limitsOrNone(data.limits), metadata: data.metadata ?? null });
      return [{ updateOne: { filter: { _id: data.secretHash }, update: { $setOnInsert: fields }, upsert: true } }];
    }
    case 'ApiKeyRotated': {
      const { data } = event;
      const at = new Date(data.occurredAt);
      const fields = entry({ accountId: data.accountId, status: data.status, scope: data.scope, ipAllowlist: [...data.ipAllowlist], expiresAt: date(data.expiresAt), limits: limitsOrNone(data.limits), metadata: data.metadata ?? null });
      return [
        // Only one rotated-out secret stays live: older ones stop at this rotation.
        { updateMany: { filter: { keyId, _id: { $nin: [data.previousSecretHash, data.secretHash] }, graceUntil: { $gt: at }, ...newer }, update: { $set: { graceUntil: at } } } },
        { updateOne: { filter: { _id: data.previousSecretHash, ...newer }, update: { $set: { graceUntil: new Date(data.graceUntil), revision } } } },
        { updateOne: { filter: { _id: data.secretHash }, update: { $setOnInsert: fields }, upsert: true } },
      ];
    }
    case 'ApiKeyStatusChanged':
      return change({ status: event.data.status });
    case 'ApiKeyScopeUpdated':
      return change({ scope: event.data.scope, ipAllowlist: [...event.data.ipAllowlist] });
    case 'ApiKeyExpiryUpdated':
      return change({ expiresAt: date(event.data.expiresAt) });
    case 'ApiKeyLeakReported':
      // A leaked rotated-out secret stops at once; the key's status change follows as its own event.
      return event.data.reportedSecret === 'PREVIOUS'
        ? [{ updateMany: { filter: { keyId, graceUntil: { $gt: new Date(event.data.occurredAt) }, ...newer }, update: { $set: { graceUntil: new Date(event.data.occurredAt), revision } } } }, ...change({})]
        : change({});
    case 'ApiKeyDeleted':
      return change({ deleted: true });
    case 'ApiKeyLimitsUpdated':
      return change({ limits: event.data.limits });
    case 'ApiKeyMetadataUpdated':
      return change({ metadata: event.data.metadata });
    case 'ApiKeyRenamed':
    case 'ApiKeyDescriptionUpdated':
      return [];
    default:
      return assertNever(event);
  }
}

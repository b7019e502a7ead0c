import type { AnyBulkWriteOperation } from '../src/application/ports/collection';
import { keyIdOfStream } from '../src/application/streams';
import type { ApiKeyEvent } from '../src/domain/apiKey/events';
import { isApiKeyEvent } from '../src/domain/apiKey/events';
import type { ProjectedEvent } from './projectedEvent';
import type { KeyIndexDocument } from './readModel';

/**
 * The hashed-key index behind verifyApiKey: one document per secret hash, holding only what the
 * checks need. Renames and descriptions do not touch it.
 */
export function projectKeyIndex(projected: ProjectedEvent): AnyBulkWriteOperation[] {
  const keyId = keyIdOfStream(projected.streamId);
  if (keyId === null || !isApiKeyEvent(projected)) return [];
  const event = projected as unknown as ApiKeyEvent;
  const { revision } = projected;
  const change = (fields: Partial<KeyIndexDocument>): AnyBulkWriteOperation[] => [
    { updateOne: { filter: { keyId, revision: { $lt: revision } }, update: { $set: { ...fields, revision } } } },
  ];
  switch (event.type) {
    case 'ApiKeyCreated': {
      const { data } = event;
      const fields: Omit<KeyIndexDocument, '_id'> = {
        keyId,
        accountId: data.accountId,
        status: 'ENABLED',
        scope: data.scope,
        ipAllowlist: [...data.ipAllowlist],
        expiresAt: data.expiresAt === null ? null : new Date(data.expiresAt),
        deleted: false,
        revision,
      };
      return [{ updateOne: { filter: { _id: data.secretHash }, update: { $setOnInsert: fields }, upsert: true } }];
    }
    case 'ApiKeyStatusChanged':
      return change({ status: event.data.status });
    case 'ApiKeyScopeUpdated':
      return change({ scope: event.data.scope, ipAllowlist: [...event.data.ipAllowlist] });
    case 'ApiKeyDeleted':
      return change({ deleted: true });
    case 'ApiKeyRenamed':
    case 'ApiKeyDescriptionUpdated':
      return [];
  }
}

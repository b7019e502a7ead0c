import type { AnyBulkWriteOperation } from '../src/ports/collection';
import { keyIdOfStream } from '../src/eventLog/streams';
import type { ApiKeyEvent } from '../src/domain/apiKey/events';
import { isApiKeyEvent } from '../src/domain/apiKey/events';
import { assertNever } from '../src/domain/errors';
import type { ApiKeysUsed } from '../src/domain/usage';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import type { ApiKeyDocument } from '../src/readModel/documents';
import { limitsOrNone } from '../src/domain/rules/limits';

const date = (instant: string | null): Date | null => (instant === null ? null : new Date(instant));

/** The key list: one document per key, written only when the event is newer than what the document reflects. */
export function projectApiKeyList(projected: ProjectedEvent): AnyBulkWriteOperation[] {
  if (projected.type === 'ApiKeysUsed') return projectUses(projected.data as unknown as ApiKeysUsed['data']);
  const keyId = keyIdOfStream(projected.streamId);
  if (keyId === null || !isApiKeyEvent(projected)) return [];
  const event = projected as unknown as ApiKeyEvent;
  const { revision } = projected;
  const at = new Date(event.data.occurredAt);

  if (event.type === 'ApiKeyCreated') {
    const { data } = event;
    const document: ApiKeyDocument = {
      _id: keyId,
      accountId: data.accountId,
      name: data.name,
      nameSort: data.name.toLowerCase(),
      description: data.description,
      region: data.region,
      maskedKey: data.maskedKey,
      status: 'ENABLED',
      scope: data.scope,
      ipAllowlist: [...data.ipAllowlist],
      createdAt: at,
      updatedAt: at,
      lastUsedAt: null,
      expiresAt: date(data.expiresAt),
      deletedAt: null,
      limits: limitsOrNone(data.limits),
      metadata: data.metadata ?? null,
      version: revision + 1,
      revision,
    };
    const { _id, ...fields } = document;
    return [{ updateOne: { filter: { _id }, update: { $setOnInsert: fields }, upsert: true } }];
  }

  const change = (fields: Partial<ApiKeyDocument>): AnyBulkWriteOperation[] => [
    {
      updateOne: {
        filter: { _id: keyId, revision: { $lt: revision } },
        update: { $set: { ...fields, updatedAt: at, version: revision + 1, revision } },
      },
    },
  ];
  switch (event.type) {
    case 'ApiKeyRenamed':
      return change({ name: event.data.name, nameSort: event.data.name.toLowerCase() });
    case 'ApiKeyDescriptionUpdated':
      return change({ description: event.data.description });
    case 'ApiKeyStatusChanged':
      return change({ status: event.data.status });
    case 'ApiKeyScopeUpdated':
      return change({ scope: event.data.scope, ipAllowlist: [...event.data.ipAllowlist] });
    case 'ApiKeyDeleted':
      return change({ deletedAt: at });
    case 'ApiKeyRotated':
      return change({ maskedKey: event.data.maskedKey });
    case 'ApiKeyExpiryUpdated':
      return change({ expiresAt: date(event.data.expiresAt) });
    case 'ApiKeyLimitsUpdated':
      return change({ limits: event.data.limits });
    case 'ApiKeyMetadataUpdated':
      return change({ metadata: event.data.metadata });
    case 'ApiKeyLeakReported':
      return change({}); // a version of its own; the status change follows as its own event
    default:
      return assertNever(event);
  }
}

/** `$max` keeps the latest use whatever order uses arrive in, and applying it twice changes nothing. */
const projectUses = (data: ApiKeysUsed['data']): AnyBulkWriteOperation[] =>
  data.uses.flatMap((use) => (use.usedAt === undefined ? [] : [{ updateOne: { filter: { _id: use.keyId }, update: { $max: { lastUsedAt: new Date(use.usedAt) } } } }]));

import type { AnyBulkWriteOperation, Database } from '../src/ports/collection';
import { UndecodableEventError } from '../src/ports/eventStore';
import type { CheckpointDocument } from '../src/readModel/documents';
import { COLLECTIONS, READ_MODEL_INDEXES } from '../src/readModel/documents';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import { projectAccounts } from './accounts.projection';
import { advanceCheckpoint } from './checkpoint';
import { projectKeyIndex } from './apiKeyIndex.projection';
import { projectApiKeyList } from './apiKeyList.projection';
import { projectUsage } from './apiKeyUsage.projection';

/** Each projection: a pure function from an event to the writes on its collection. */
export const PROJECTIONS: ReadonlyArray<{ collection: string; project: (event: ProjectedEvent) => AnyBulkWriteOperation[] }> = [
  { collection: COLLECTIONS.apiKeys, project: projectApiKeyList },
  { collection: COLLECTIONS.keyIndex, project: projectKeyIndex },
  { collection: COLLECTIONS.accounts, project: projectAccounts },
  { collection: COLLECTIONS.usage, project: projectUsage },
];

export const CHECKPOINT_ID = 'keyhub-read-model';

/**
 * Applies a batch of events to the read model: one ordered bulkWrite per collection, then the checkpoint.
 * Every projection runs before anything is written, so an event none can read (UndecodableEventError)
 * stops the batch with nothing of it applied.
 */
export async function applyBatch(database: Database, events: readonly ProjectedEvent[]): Promise<void> {
  const writes = PROJECTIONS.map(({ collection, project }) => ({ collection, operations: events.flatMap((event) => projectOne(project, event)) }));
  for (const { collection, operations } of writes) {
    if (operations.length > 0) await database.collection(collection).bulkWrite(operations, { ordered: true });
  }
  const last = events[events.length - 1];
  if (last) {
    await advanceCheckpoint(database.collection<CheckpointDocument>(COLLECTIONS.checkpoints), CHECKPOINT_ID, last.position);
  }
}

export async function ensureIndexes(database: Database): Promise<void> {
  for (const { collection, keys } of READ_MODEL_INDEXES) await database.collection(collection).createIndex(keys);
}

/** A projection is pure: when it throws, the event is not what its type says, and applying it again cannot help. */
function projectOne(project: (event: ProjectedEvent) => AnyBulkWriteOperation[], event: ProjectedEvent): AnyBulkWriteOperation[] {
  try {
    return project(event);
  } catch (error) {
    throw new UndecodableEventError(event.streamId, event.position, event.type, error);
  }
}

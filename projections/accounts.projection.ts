import type { AnyBulkWriteOperation } from '../src/ports/collection';
import type { AccountEvent } from '../src/domain/account/account';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';

/** Account limits. The first write makes sure the document exists; the second is guarded by revision. */
export function projectAccounts(projected: ProjectedEvent): AnyBulkWriteOperation[] {
  if (projected.type !== 'AccountKeyLimitSet') return [];
  const event = projected as unknown as Extract<AccountEvent, { type: 'AccountKeyLimitSet' }>;
  const { accountId, limit } = event.data;
  return [
    { updateOne: { filter: { _id: accountId }, update: { $setOnInsert: { limit: null, revision: -1 } }, upsert: true } },
    { updateOne: { filter: { _id: accountId, revision: { $lt: projected.revision } }, update: { $set: { limit, revision: projected.revision } } } },
  ];
}

import type { AnyBulkWriteOperation } from '../src/ports/collection';
import type { ApiKeysUsed } from '../src/domain/usage';
import type { UsageGranularity } from '../src/domain/usageWindows';
import { USAGE_GRANULARITIES, bucketStart } from '../src/domain/usageWindows';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import { usageBucketId } from '../src/readModel/documents';

interface Bucket {
  keyId: string;
  accountId: string;
  granularity: UsageGranularity;
  startMs: number;
  /** Top-level counters to add, and `deniedByReason.<reason>` ones. */
  increments: Record<string, number>;
}

const add = (increments: Record<string, number>, field: string, n: number | undefined): void => {
  if (n) increments[field] = (increments[field] ?? 0) + n;
};

/**
 * Usage buckets (minute, hour, day) from usage events: each event's counts are summed per bucket,
 * then added with $inc, guarded by the event's revision in the usage stream so that an event
 * applied twice counts once. The bucket is made first with zeros ($setOnInsert, no guard): a
 * guarded upsert would try to insert a second document with the same _id when the guard fails.
 * This runs for every active key at every flush, so it allocates little: no Date until the write.
 */
export function projectUsage(projected: ProjectedEvent): AnyBulkWriteOperation[] {
  if (projected.type !== 'ApiKeysUsed') return [];
  const data = projected.data as unknown as ApiKeysUsed['data'];
  const { revision } = projected;
  const buckets = new Map<string, Bucket>();
  for (const use of data.uses) {
    if (!use.counts) continue;
    for (const count of use.counts) {
      const minute = Date.parse(count.minute);
      for (const granularity of USAGE_GRANULARITIES) {
        const startMs = bucketStart(granularity, minute);
        const id = usageBucketId(use.keyId, granularity, startMs);
        let bucket = buckets.get(id);
        if (!bucket) {
          bucket = { keyId: use.keyId, accountId: use.accountId, granularity, startMs, increments: {} };
          buckets.set(id, bucket);
        }
        const { increments } = bucket;
        add(increments, 'requests', count.requests);
        add(increments, 'promptTokens', count.promptTokens);
        add(increments, 'completionTokens', count.completionTokens);
        if (count.denied) {
          for (const reason in count.denied) {
            const n = count.denied[reason] as number;
            add(increments, 'denied', n);
            add(increments, `deniedByReason.${reason}`, n);
          }
        }
      }
    }
  }
  const operations: AnyBulkWriteOperation[] = [];
  for (const [_id, { keyId, accountId, granularity, startMs, increments }] of buckets) {
    const empty = { keyId, accountId, granularity, start: new Date(startMs), requests: 0, denied: 0, deniedByReason: {}, promptTokens: 0, completionTokens: 0, revision: -1 };
    operations.push(
      { updateOne: { filter: { _id }, update: { $setOnInsert: empty }, upsert: true } },
      { updateOne: { filter: { _id, revision: { $lt: revision } }, update: { $inc: increments, $set: { revision } } } },
    );
  }
  return operations;
}

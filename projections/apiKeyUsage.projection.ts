import type { AnyBulkWriteOperation } from '../src/ports/collection';
import type { ApiKeysUsed } from '../src/domain/usage';
import type { UsageGranularity } from '../src/domain/usageWindows';
import { USAGE_GRANULARITIES, bucketStart } from '../src/domain/usageWindows';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import type { UsageBucketDocument } from '../src/readModel/documents';
import { usageBucketId } from '../src/readModel/documents';
import { positionOrder } from './checkpoint';

type Counted = Pick<UsageBucketDocument, 'requests' | 'denied' | 'promptTokens' | 'completionTokens'> & { deniedByReason: Record<string, number> };

/**
 * Usage buckets (minute, hour, day) from usage events: each event's counts are summed per bucket,
 * then added with $inc, guarded by the event's log position so that an event applied twice counts
 * once. The bucket is made first with zeros ($setOnInsert, no guard): a guarded upsert would try
 * to insert a second document with the same _id when the guard fails.
 */
export function projectUsage(projected: ProjectedEvent): AnyBulkWriteOperation[] {
  if (projected.type !== 'ApiKeysUsed') return [];
  const data = projected.data as unknown as ApiKeysUsed['data'];
  const order = positionOrder(projected.position);
  const buckets = new Map<string, { keyId: string; accountId: string; granularity: UsageGranularity; start: Date; counted: Counted }>();
  for (const use of data.uses) {
    for (const count of use.counts ?? []) {
      const minute = Date.parse(count.minute);
      const denied = Object.values(count.denied ?? {}).reduce((sum, n) => sum + n, 0);
      for (const granularity of USAGE_GRANULARITIES) {
        const start = new Date(bucketStart(granularity, minute));
        const id = usageBucketId(use.keyId, granularity, start);
        let bucket = buckets.get(id);
        if (!bucket) {
          bucket = { keyId: use.keyId, accountId: use.accountId, granularity, start, counted: { requests: 0, denied: 0, deniedByReason: {}, promptTokens: 0, completionTokens: 0 } };
          buckets.set(id, bucket);
        }
        const { counted } = bucket;
        counted.requests += count.requests ?? 0;
        counted.denied += denied;
        counted.promptTokens += count.promptTokens ?? 0;
        counted.completionTokens += count.completionTokens ?? 0;
        for (const [reason, n] of Object.entries(count.denied ?? {})) counted.deniedByReason[reason] = (counted.deniedByReason[reason] ?? 0) + n;
      }
    }
  }
  return [...buckets].flatMap(([_id, { keyId, accountId, granularity, start, counted }]) => {
    const { deniedByReason, ...totals } = counted;
    const increments: Record<string, number> = { ...totals };
    for (const [reason, n] of Object.entries(deniedByReason)) increments[`deniedByReason.${reason}`] = n;
    const empty = { keyId, accountId, granularity, start, requests: 0, denied: 0, deniedByReason: {}, promptTokens: 0, completionTokens: 0, order: '' };
    return [
      { updateOne: { filter: { _id }, update: { $setOnInsert: empty }, upsert: true } },
      { updateOne: { filter: { _id, order: { $lt: order } }, update: { $inc: increments, $set: { order } } } },
    ];
  });
}

import { badInput, notFound } from '../domain/errors';
import type { UsageGranularity } from '../domain/usageWindows';
import { GRANULARITY_MS, USAGE_GRANULARITIES, bucketStart, monthStart } from '../domain/usageWindows';
import type { Database } from '../ports/collection';
import type { ApiKeyDocument, UsageBucketDocument } from '../readModel/documents';
import { COLLECTIONS } from '../readModel/documents';
import type { Caller } from './caller';

export const USAGE_BUCKETS_MAX = 1000;

/** A bucket as apiKeyUsage answers it: the document's counts, without its keys. */
export type UsageBucketView = Pick<UsageBucketDocument, 'start' | 'requests' | 'denied' | 'deniedByReason' | 'promptTokens' | 'completionTokens'>;

/**
 * apiKeyUsage: every bucket from the one holding `from` up to `to` (exclusive), oldest first, with
 * zeros where the key was not used (or the bucket's retention has passed), so a chart needs no
 * gaps filled. Keys of the caller's account only, deleted ones included (their usage stays).
 */
export async function keyUsage(readModel: Database, caller: Caller, keyId: string, from: Date, to: Date, granularity: UsageGranularity): Promise<UsageBucketView[]> {
  if (!USAGE_GRANULARITIES.includes(granularity)) throw badInput('granularity', `granularity must be one of ${USAGE_GRANULARITIES.join(', ')}`);
  const step = GRANULARITY_MS[granularity];
  const first = bucketStart(granularity, from.getTime());
  if (!(to.getTime() > from.getTime())) throw badInput('to', 'to must lie after from');
  const count = Math.ceil((to.getTime() - first) / step);
  if (count > USAGE_BUCKETS_MAX) throw badInput('to', `at most ${USAGE_BUCKETS_MAX} buckets per query (this asks for ${count}); narrow the range or use a coarser granularity`);
  const key = await readModel.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: keyId, accountId: caller.accountId }, { projection: { _id: 1 } });
  if (!key) throw notFound();
  const stored = await readModel
    .collection<UsageBucketDocument>(COLLECTIONS.usage)
    .find({ keyId, granularity, start: { $gte: new Date(first), $lt: to } }, { sort: { start: 1 }, limit: USAGE_BUCKETS_MAX })
    .toArray();
  const byStart = new Map(stored.map((bucket) => [bucket.start.getTime(), bucket]));
  return Array.from({ length: count }, (_, index) => {
    const start = first + index * step;
    const bucket = byStart.get(start);
    return bucket
      ? { start: new Date(start), requests: bucket.requests, denied: bucket.denied, deniedByReason: bucket.deniedByReason, promptTokens: bucket.promptTokens, completionTokens: bucket.completionTokens }
      : { start: new Date(start), requests: 0, denied: 0, deniedByReason: {}, promptTokens: 0, completionTokens: 0 };
  });
}

/** The buckets the limits' current windows are made of at `nowMs`: this minute's, and this month's day buckets (UsageRecorder.seed). */
export function currentWindowBuckets(readModel: Database, nowMs: number): Promise<UsageBucketDocument[]> {
  return readModel
    .collection<UsageBucketDocument>(COLLECTIONS.usage)
    .find({
      $or: [
        { granularity: 'MINUTE', start: new Date(bucketStart('MINUTE', nowMs)) },
        { granularity: 'DAY', start: { $gte: new Date(monthStart(nowMs)) } },
      ],
    })
    .toArray();
}

/** How long buckets of each granularity are kept (milliseconds); null: forever. */
export type UsageRetention = { readonly [G in UsageGranularity]: number | null };

/** Drops buckets past their retention; run periodically (each instance may: deleting twice changes nothing). */
export async function dropExpiredUsage(readModel: Database, retention: UsageRetention, nowMs: number): Promise<number> {
  let dropped = 0;
  for (const granularity of USAGE_GRANULARITIES) {
    const keep = retention[granularity];
    if (keep === null) continue;
    const { deletedCount } = await readModel.collection(COLLECTIONS.usage).deleteMany({ granularity, start: { $lt: new Date(nowMs - keep) } });
    dropped += deletedCount;
  }
  return dropped;
}

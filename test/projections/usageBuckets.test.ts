import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { USAGE_STREAM } from '../../src/eventLog/streams';
import type { UsageBucketDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { applyBatch } from '../../projections/registry';
import { projectedEvent } from '../support/eventFixtures';

const used = (revision: number, uses: object[]) => projectedEvent(USAGE_STREAM, revision, 'ApiKeysUsed', { instanceId: 'i1', uses });

describe('Usage buckets projection', () => {
  it('should add the counts of a known sequence into minute, hour and day buckets, and count an event applied twice once', async () => {
    const database = new InProcessDatabase();
    const first = used(0, [
      {
        keyId: 'k1',
        accountId: 'a',
        usedAt: '2026-11-25T08:00:30.000Z',
        counts: [
          { minute: '2026-11-25T08:00:00.000Z', requests: 3, denied: { RATE_LIMITED: 2 }, promptTokens: 10 },
          { minute: '2026-11-25T08:01:00.000Z', requests: 1, completionTokens: 4 },
        ],
      },
    ]);
    const second = used(1, [{ keyId: 'k1', accountId: 'a', counts: [{ minute: '2026-11-25T09:59:00.000Z', requests: 2, denied: { RATE_LIMITED: 1, SCOPE_DENIED: 1 } }] }]);
    await applyBatch(database, [first, second]);
    await applyBatch(database, [first, second]); // a replay after a crash before the checkpoint
    const buckets = await database.collection<UsageBucketDocument>(COLLECTIONS.usage).find({ keyId: 'k1' }, { sort: { granularity: 1, start: 1 } }).toArray();
    const shown = buckets.map(({ granularity, start, requests, denied, deniedByReason, promptTokens, completionTokens }) => ({ granularity, start: start.toISOString(), requests, denied, deniedByReason, promptTokens, completionTokens }));
    expect(shown).toEqual([
      { granularity: 'DAY', start: '2026-11-25T00:00:00.000Z', requests: 6, denied: 4, deniedByReason: { RATE_LIMITED: 3, SCOPE_DENIED: 1 }, promptTokens: 10, completionTokens: 4 },
      { granularity: 'HOUR', start: '2026-11-25T08:00:00.000Z', requests: 4, denied: 2, deniedByReason: { RATE_LIMITED: 2 }, promptTokens: 10, completionTokens: 4 },
      { granularity: 'HOUR', start: '2026-11-25T09:00:00.000Z', requests: 2, denied: 2, deniedByReason: { RATE_LIMITED: 1, SCOPE_DENIED: 1 }, promptTokens: 0, completionTokens: 0 },
      { granularity: 'MINUTE', start: '2026-11-25T08:00:00.000Z', requests: 3, denied: 2, deniedByReason: { RATE_LIMITED: 2 }, promptTokens: 10, completionTokens: 0 },
      { granularity: 'MINUTE', start: '2026-11-25T08:01:00.000Z', requests: 1, denied: 0, deniedByReason: {}, promptTokens: 0, completionTokens: 4 },
      { granularity: 'MINUTE', start: '2026-11-25T09:59:00.000Z', requests: 2, denied: 2, deniedByReason: { RATE_LIMITED: 1, SCOPE_DENIED: 1 }, promptTokens: 0, completionTokens: 0 },
    ]);
  });

  it('should still set lastUsedAt from uses written before usage was counted (usedAt only)', async () => {
    const database = new InProcessDatabase();
    await database.collection(COLLECTIONS.apiKeys).updateOne({ _id: 'k2' }, { $set: { lastUsedAt: null } }, { upsert: true });
    await applyBatch(database, [projectedEvent(USAGE_STREAM, 0, 'ApiKeysUsed', { uses: [{ keyId: 'k2', accountId: 'a', usedAt: '2026-11-25T08:00:00.000Z' }] })]);
    expect((await database.collection(COLLECTIONS.apiKeys).findOne({ _id: 'k2' }))?.['lastUsedAt']).toEqual(new Date('2026-11-25T08:00:00.000Z'));
    expect(await database.collection(COLLECTIONS.usage).countDocuments({})).toBe(0);
  });
});

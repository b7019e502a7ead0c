import fc from 'fast-check';
import { Query } from 'mingo';
import type { InProcessCollection } from '../../src/adapters/inProcess/inProcessDatabase';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { ApiKeyQueries } from '../../src/application/apiKeyQueries';
import type { Caller } from '../../src/application/caller';
import type { ApiKeyDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import type { ApiKeyListFilter, ApiKeyOrder } from '../../src/readModel/keyList';
import { API_KEY_ORDERS, afterCursorFilter, encodeCursor, listFilter, listSort } from '../../src/readModel/keyList';
import { ensureIndexes } from '../../projections/registry';
import type { EventStore } from '../../src/ports/eventStore';
import type { Filter } from '../../src/ports/collection';

const day = (d: number) => new Date(Date.UTC(2026, 10, 1 + d));

function keyDocument(id: string, accountId: string, i: number, fields: Partial<ApiKeyDocument> = {}): ApiKeyDocument {
  const name = ['Alpha', 'beta', 'Gamma prod', 'delta', 'Eps (1.*)'][i % 5] as string;
  return {
    _id: id,
    accountId,
    name,
    nameSort: name.toLowerCase(),
    description: i % 3 === 0 ? 'Batch JOBS' : null,
    region: i % 4 === 0 ? 'eu-west-1' : 'us-east-1',
    maskedKey: 'sk-ab***wxyz',
    status: i % 2 === 0 ? 'ENABLED' : 'DISABLED',
    scope: { mode: 'ALL', models: [], services: [] },
    ipAllowlist: [],
    createdAt: day(i % 7),
    updatedAt: day(i % 7),
    lastUsedAt: i % 5 === 0 ? null : day(10 + (i % 6)),
    expiresAt: null,
    deletedAt: i % 9 === 8 ? day(20) : null,
    version: 1,
    revision: 0,
    ...fields,
  };
}

async function readModelWith(documents: readonly ApiKeyDocument[]) {
  const database = new InProcessDatabase();
  await ensureIndexes(database);
  const collection = database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys) as unknown as InProcessCollection<ApiKeyDocument>;
  for (const { _id, ...fields } of documents) await collection.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
  return { database, collection };
}

const caller = (accountId: string): Caller => ({ accountId }) as unknown as Caller;
const FILTERS: Array<[string, ApiKeyListFilter]> = [
  ['none', {}],
  ['status', { status: 'DISABLED' }],
  ['region', { region: 'eu-west-1' }],
  ['search', { search: 'batch' }],
  ['unusedSince', { unusedSince: day(13) }],
  ['all four', { status: 'ENABLED', region: 'us-east-1', search: 'A', unusedSince: day(14) }],
];

describe('Account-scoped key lists in the in-process read model', () => {
  it('never examine another account\'s documents, for any filter, order or page', async () => {
    const mine = Array.from({ length: 40 }, (_, i) => keyDocument(`mine-${String(i).padStart(2, '0')}`, 'acct-mine', i));
    const theirs = Array.from({ length: 400 }, (_, i) => keyDocument(`theirs-${i}`, `acct-other-${i % 7}`, i));
    const { database, collection } = await readModelWith([...theirs, ...mine]);
    const queries = new ApiKeyQueries(database, {} as EventStore, 100);
    const examined: ApiKeyDocument[] = [];
    collection.watchExamined((doc) => examined.push(doc));
    for (const [, filter] of FILTERS) {
      for (const order of API_KEY_ORDERS) {
        let after: string | null = null;
        let pages = 0;
        do {
          examined.length = 0;
          const page = await queries.list(caller('acct-mine'), filter, order, 3, after);
          pages += 1;
          expect(page.nodes.every((node) => node.id.startsWith('mine-'))).toBe(true);
          // find and count: each tests the account's documents at most once.
          expect(examined.length).toBeGreaterThan(0);
          expect(examined.length).toBeLessThanOrEqual(2 * mine.length);
          expect(examined.filter((doc) => doc.accountId !== 'acct-mine')).toEqual([]);
          after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
        } while (after);
        expect(pages).toBeGreaterThan(0);
      }
    }
    // The watcher sees what a scan would see: without an index, every account's documents.
    const unindexed = new InProcessDatabase().collection<ApiKeyDocument>(COLLECTIONS.apiKeys) as unknown as InProcessCollection<ApiKeyDocument>;
    for (const { _id, ...fields } of [...theirs, ...mine]) await unindexed.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
    const scanned: ApiKeyDocument[] = [];
    unindexed.watchExamined((doc) => scanned.push(doc));
    await unindexed.countDocuments(listFilter('acct-mine', { status: 'DISABLED' }));
    expect(scanned.some((doc) => doc.accountId !== 'acct-mine')).toBe(true);
  });

  it('answer every filter, order and cursor exactly as mingo does over all documents (random data)', async () => {
    const arbitraryKey = fc.record({
      accountId: fc.constantFrom('a', 'b'),
      name: fc.constantFrom('Alpha', 'alpha', 'beta', 'Batch', 'ä', 'Zed', 'x(1.*)'),
      description: fc.option(fc.constantFrom('Batch JOBS', 'prod', ''), { nil: null }),
      region: fc.constantFrom('eu-west-1', 'us-east-1'),
      status: fc.constantFrom<'ENABLED' | 'DISABLED'>('ENABLED', 'DISABLED'),
      created: fc.integer({ min: 0, max: 4 }),
      lastUsed: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
      deleted: fc.boolean(),
    });
    const arbitraryFilter = fc.record(
      {
        status: fc.constantFrom<'ENABLED' | 'DISABLED'>('ENABLED', 'DISABLED'),
        region: fc.constantFrom('eu-west-1', 'us-east-1'),
        search: fc.constantFrom('a', 'BATCH', '(1.*)', 'prod', 'zz'),
        unusedSince: fc.integer({ min: 0, max: 5 }).map((d) => day(10 + d)),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(arbitraryKey, { maxLength: 30 }), arbitraryFilter, fc.constantFrom(...API_KEY_ORDERS), fc.integer({ min: 1, max: 4 }), async (keys, filter, order, pageSize) => {
        const documents = keys.map((key, i) =>
          keyDocument(`k${i % 3}-${i}`, key.accountId, i, {
            name: key.name,
            nameSort: key.name.toLowerCase(),
            description: key.description,
            region: key.region,
            status: key.status,
            createdAt: day(key.created),
            lastUsedAt: key.lastUsed === null ? null : day(10 + key.lastUsed),
            deletedAt: key.deleted ? day(30) : null,
          }),
        );
        const { collection } = await readModelWith(documents);
        const reference = (query: Filter) => new Query(query, {}).find<ApiKeyDocument>(documents).sort(listSort(order)).all().map((doc) => doc._id);
        const selected = listFilter('a', filter);
        expect(await collection.countDocuments(selected)).toBe(reference(selected).length);
        let after: string | null = null;
        const paged: string[] = [];
        for (;;) {
          const query: Filter = after ? { $and: [selected, afterCursorFilter(order as ApiKeyOrder, after)] } : selected;
          const page = await collection.find(query, { sort: listSort(order), limit: pageSize }).toArray();
          expect(page.map((doc) => doc._id)).toEqual(reference(query).slice(0, pageSize));
          paged.push(...page.map((doc) => doc._id));
          const last = page[page.length - 1];
          if (page.length < pageSize || !last) break;
          after = encodeCursor(order, last);
        }
        expect(paged).toEqual(reference(selected));
      }),
      { seed: 13, numRuns: 300 },
    );
  });
});

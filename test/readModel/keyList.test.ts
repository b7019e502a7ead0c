import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import type { ApiKeyOrder } from '../../src/readModel/keyList';
import { afterCursorFilter, encodeCursor, listFilter, listSort } from '../../src/readModel/keyList';
import type { ApiKeyDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { ensureIndexes } from '../../projections/registry';
import { DomainError } from '../../src/domain/errors';

const accountId = 'acct-1';
function doc(id: string, fields: Partial<ApiKeyDocument>): ApiKeyDocument {
  return {
    _id: id,
    accountId,
    name: id,
    nameSort: id.toLowerCase(),
    description: null,
    region: 'us-east-1',
    maskedKey: 'sk-ab***wxyz',
    status: 'ENABLED',
    scope: { mode: 'ALL', models: [], services: [] },
    ipAllowlist: [],
    createdAt: new Date('2026-11-01T00:00:00.000Z'),
    updatedAt: new Date('2026-11-01T00:00:00.000Z'),
    lastUsedAt: null,
    expiresAt: null,
    deletedAt: null,
    version: 1,
    revision: 0,
    ...fields,
  };
}

const day = (d: number) => new Date(`2026-11-${String(d).padStart(2, '0')}T00:00:00.000Z`);
const documents = [
  doc('k1', { name: 'Alpha', nameSort: 'alpha', createdAt: day(1), lastUsedAt: day(20) }),
  doc('k2', { name: 'beta', nameSort: 'beta', createdAt: day(2), lastUsedAt: null, description: 'Batch JOBS' }),
  doc('k3', { name: 'Gamma', nameSort: 'gamma', createdAt: day(2), lastUsedAt: day(10), status: 'DISABLED' }),
  doc('k4', { name: 'delta', nameSort: 'delta', createdAt: day(4), lastUsedAt: null, region: 'eu-west-1' }),
  doc('k5', { name: 'Eps (1.*)', nameSort: 'eps (1.*)', createdAt: day(5), lastUsedAt: day(20) }),
  doc('gone', { createdAt: day(6), deletedAt: day(7) }),
  doc('other', { accountId: 'acct-2', createdAt: day(3) }),
];

async function keys() {
  const database = new InProcessDatabase();
  await ensureIndexes(database);
  const collection = database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
  for (const { _id, ...fields } of documents) await collection.updateOne({ _id }, { $setOnInsert: fields }, { upsert: true });
  return collection;
}

/** Pages through the whole list with `pageSize`, the way a console does. */
async function pageThrough(order: ApiKeyOrder, pageSize: number, filter = {}): Promise<string[]> {
  const collection = await keys();
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const selected = listFilter(accountId, filter);
    const query = after ? { $and: [selected, afterCursorFilter(order, after)] } : selected;
    const page = await collection.find(query, { sort: listSort(order), limit: pageSize }).toArray();
    ids.push(...page.map((d) => d._id));
    const last = page[page.length - 1];
    if (page.length < pageSize || !last) return ids;
    after = encodeCursor(order, last);
  }
}

describe('Key list queries', () => {
  it.each<[ApiKeyOrder, string[]]>([
    ['CREATED_AT_DESC', ['k5', 'k4', 'k3', 'k2', 'k1']],
    ['CREATED_AT_ASC', ['k1', 'k2', 'k3', 'k4', 'k5']],
    ['LAST_USED_DESC', ['k5', 'k1', 'k3', 'k4', 'k2']],
    ['NAME_ASC', ['k1', 'k2', 'k4', 'k5', 'k3']],
  ])('should order %s, with ties broken by id and never-used keys last, the same over any page size', async (order, expected) => {
    for (const pageSize of [1, 2, 3, 10]) expect(await pageThrough(order, pageSize)).toEqual(expected);
  });

  it('should filter by status, region, case-insensitive search in name or description, and unusedSince', async () => {
    expect(await pageThrough('CREATED_AT_ASC', 10, { status: 'DISABLED' })).toEqual(['k3']);
    expect(await pageThrough('CREATED_AT_ASC', 10, { region: 'eu-west-1' })).toEqual(['k4']);
    expect(await pageThrough('CREATED_AT_ASC', 10, { search: 'ALPH' })).toEqual(['k1']);
    expect(await pageThrough('CREATED_AT_ASC', 10, { search: 'batch jobs' })).toEqual(['k2']);
    expect(await pageThrough('CREATED_AT_ASC', 10, { search: '(1.*)' })).toEqual(['k5']); // regex characters are literal
    expect(await pageThrough('CREATED_AT_ASC', 10, { unusedSince: day(15) })).toEqual(['k2', 'k3', 'k4']);
  });

  it('should count only the account\'s live keys that the filter selects', async () => {
    const collection = await keys();
    expect(await collection.countDocuments(listFilter(accountId))).toBe(5);
    expect(await collection.countDocuments(listFilter(accountId, { status: 'ENABLED', search: 'a' }))).toBe(3);
  });

  it('should reject a cursor that is not ours, or belongs to another order, on the field after', () => {
    const cursor = encodeCursor('NAME_ASC', documents[0] as ApiKeyDocument);
    for (const [order, bad] of [['CREATED_AT_DESC', cursor], ['NAME_ASC', 'not-a-cursor']] as const) {
      let error: unknown;
      try {
        afterCursorFilter(order, bad);
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
  });
});

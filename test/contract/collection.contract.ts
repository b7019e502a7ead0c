import type { Database, Document } from '../../src/ports/collection';
import { DUPLICATE_KEY } from '../../src/ports/collection';
import { accountStream, apiKeyStream, USAGE_STREAM } from '../../src/eventLog/streams';
import type { ApiKeyOrder } from '../../src/readModel/keyList';
import { afterCursorFilter, encodeCursor, listFilter, listSort } from '../../src/readModel/keyList';
import type { ProjectedEvent } from '../../src/readModel/projectedEvent';
import type { AccountDocument, ApiKeyDocument, CheckpointDocument, KeyIndexDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { CHECKPOINT_ID, applyBatch, ensureIndexes } from '../../projections/registry';
import { apiKeyCreatedData, projectedEvent, projectedKeyEvent } from '../support/eventFixtures';

/** A fresh, empty database for one contract run, and a way to drop it. */
export interface DatabaseUnderTest {
  database: Database;
  close(): Promise<void>;
}

const accountId = 'acct-contract';
const minute = (m: number) => `2026-11-25T08:${String(m).padStart(2, '0')}:00.000Z`;
const projected = projectedEvent;
const keyEvent = (keyId: string, revision: number, type: string, data: object, at = minute(revision)) => projectedKeyEvent({ keyId, accountId }, revision, type, data, at);
const created = (keyId: string, name: string, at: string, extra: object = {}) =>
  projectedEvent(apiKeyStream(keyId), 0, 'ApiKeyCreated', { ...apiKeyCreatedData({ keyId, accountId, occurredAt: at, name, ipAllowlist: ['10.0.0.0/8'] }), ...extra });
const used = (uses: Array<[string, string]>) => projected(USAGE_STREAM, 0, 'ApiKeysUsed', { uses: uses.map(([keyId, usedAt]) => ({ keyId, accountId, usedAt })) });

const rejection = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => new Error('expected a rejection'), (error: unknown) => error);

/**
 * The read-model port's contract: the documents the projections and the key-list query issue, run
 * through each adapter (the in-process one always, MongoDB whenever MONGODB_URL is set).
 */
export function collectionContract(adapterName: string, open: () => Promise<DatabaseUnderTest>): void {
  describe(`Collection contract: ${adapterName}`, () => {
    let underTest: DatabaseUnderTest;
    let database: Database;
    const keys = () => database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
    const keyIndex = () => database.collection<KeyIndexDocument>(COLLECTIONS.keyIndex);

    beforeAll(async () => {
      underTest = await open();
      database = underTest.database;
    });
    beforeEach(async () => {
      await database.dropDatabase();
      await ensureIndexes(database);
    });
    afterAll(async () => underTest.close());

    describe('the projections\' writes', () => {
      const k1 = created('k1', 'Prod Backend', minute(0), { expiresAt: '2027-01-01T00:00:00.000Z' });
      const renamed = keyEvent('k1', 1, 'ApiKeyRenamed', { name: 'staging', previousName: 'Prod Backend' });
      const disabled = keyEvent('k1', 2, 'ApiKeyStatusChanged', { status: 'DISABLED', reason: 'OWNER' });
      const deleted = keyEvent('k1', 3, 'ApiKeyDeleted', {});

      it('creates the key document and its index entry with $setOnInsert, Dates kept as Dates', async () => {
        await applyBatch(database, [k1]);
        const document = await keys().findOne({ _id: 'k1' });
        expect(document).toMatchObject({ _id: 'k1', accountId, name: 'Prod Backend', nameSort: 'prod backend', status: 'ENABLED', lastUsedAt: null, deletedAt: null, version: 1, revision: 0 });
        expect(document?.createdAt).toBeInstanceOf(Date); // not an ISO string: range queries and sorts compare Dates
        expect(document?.createdAt).toEqual(new Date(minute(0)));
        expect(document?.expiresAt).toEqual(new Date('2027-01-01T00:00:00.000Z'));
        expect(await keyIndex().findOne({ _id: 'hash-k1' })).toMatchObject({ keyId: 'k1', accountId, status: 'ENABLED', deleted: false, revision: 0 });
      });

      it('applies changes in order, and a replayed or late event moves nothing backwards', async () => {
        await applyBatch(database, [k1, renamed, disabled]);
        const once = { key: await keys().findOne({ _id: 'k1' }), index: await keyIndex().findOne({ _id: 'hash-k1' }) };
        expect(once.key).toMatchObject({ name: 'staging', status: 'DISABLED', version: 3, revision: 2 });
        expect(once.index).toMatchObject({ status: 'DISABLED', revision: 2 });
        await applyBatch(database, [k1, renamed]); // a replay from an older checkpoint, or a second writer behind this one
        await applyBatch(database, [renamed, disabled]);
        expect(await keys().findOne({ _id: 'k1' })).toEqual(once.key);
        expect(await keyIndex().findOne({ _id: 'hash-k1' })).toEqual(once.index);
        await applyBatch(database, [deleted]);
        expect(await keys().findOne({ _id: 'k1' })).toMatchObject({ deletedAt: new Date(minute(3)), version: 4 });
        expect(await keyIndex().findOne({ _id: 'hash-k1' })).toMatchObject({ deleted: true, revision: 3 });
      });

      it('keeps the latest use with $max, from null and whatever order uses arrive in', async () => {
        await applyBatch(database, [k1]);
        await applyBatch(database, [used([['k1', '2026-11-25T09:30:00.000Z']]), used([['k1', '2026-11-25T09:00:00.000Z']])]);
        expect((await keys().findOne({ _id: 'k1' }))?.lastUsedAt).toEqual(new Date('2026-11-25T09:30:00.000Z'));
        await applyBatch(database, [used([['k1', '2026-11-25T10:00:00.000Z'], ['unknown-key', '2026-11-25T10:00:00.000Z']])]);
        expect((await keys().findOne({ _id: 'k1' }))?.lastUsedAt).toEqual(new Date('2026-11-25T10:00:00.000Z'));
        expect(await keys().countDocuments({})).toBe(1); // a use never creates a key
      });

      it('upserts an account limit, guarded by its revision, and stores the checkpoint', async () => {
        const limit = (revision: number, value: number) => projected(accountStream(accountId), revision, 'AccountKeyLimitSet', { accountId, limit: value, occurredAt: minute(revision) });
        await applyBatch(database, [limit(0, 5), limit(3, 7)]);
        const replayed = limit(0, 5);
        await applyBatch(database, [replayed]);
        expect(await database.collection<AccountDocument>(COLLECTIONS.accounts).findOne({ _id: accountId })).toEqual({ _id: accountId, limit: 7, revision: 3 });
        const { commit, prepare } = replayed.position;
        expect(await database.collection<CheckpointDocument>(COLLECTIONS.checkpoints).findOne({ _id: CHECKPOINT_ID })).toMatchObject({ _id: CHECKPOINT_ID, commit: String(commit), prepare: String(prepare) });
      });

      it('never moves the shared checkpoint back: an instance applying older events leaves a newer checkpoint where it is', async () => {
        const checkpoint = () => database.collection<CheckpointDocument>(COLLECTIONS.checkpoints).findOne({ _id: CHECKPOINT_ID });
        const older = { ...used([['k1', minute(1)]]), position: { commit: 9_000n, prepare: 9_000n } };
        const newer = { ...used([['k1', minute(2)]]), position: { commit: 10_000n, prepare: 9_990n } };
        await applyBatch(database, [newer]);
        await applyBatch(database, [older]); // a second instance, behind this one
        expect(await checkpoint()).toMatchObject({ commit: '10000', prepare: '9990' });
        // Decimal strings of different lengths compare as numbers, not as text ('9000' > '10000').
        const further = { ...used([['k1', minute(3)]]), position: { commit: 123_456_789_012n, prepare: 123_456_789_000n } };
        await applyBatch(database, [further]);
        expect(await checkpoint()).toMatchObject({ commit: '123456789012', prepare: '123456789000' });
        expect(await database.collection(COLLECTIONS.checkpoints).countDocuments({})).toBe(1);
      });
      it('keeps every live hash of a rotated key in step (updateMany over the key\'s index entries)', async () => {
        const rotated = keyEvent('rot', 1, 'ApiKeyRotated', {
          secretHash: 'hash-rot-2',
          maskedKey: 'sk-cd***wxyz',
          previousSecretHash: 'hash-rot',
          previousMaskedKey: 'sk-ab***wxyz',
          graceUntil: minute(30),
          status: 'ENABLED',
          scope: { mode: 'ALL', models: [], services: [] },
          ipAllowlist: ['10.0.0.0/8'],
          expiresAt: null,
        });
        const disabled = keyEvent('rot', 2, 'ApiKeyStatusChanged', { status: 'DISABLED', reason: 'OWNER' });
        await applyBatch(database, [created('rot', 'rotating', minute(0)), rotated, disabled]);
        await applyBatch(database, [rotated, disabled]); // replayed: nothing moves
        const entries = await keyIndex().find({ keyId: 'rot' }, { sort: { _id: 1 } }).toArray();
        expect(entries.map(({ _id, status, graceUntil, revision }) => ({ _id, status, graceUntil, revision }))).toEqual([
          { _id: 'hash-rot', status: 'DISABLED', graceUntil: new Date(minute(30)), revision: 2 },
          { _id: 'hash-rot-2', status: 'DISABLED', graceUntil: null, revision: 2 },
        ]);
      });
    });

    describe('the key list\'s queries', () => {
      const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}T00:00:00.000Z`;
      const fill = async () => {
        await applyBatch(database, [
          created('a1', 'Alpha', day(1)),
          created('a2', 'beta', day(2), { description: 'Batch JOBS' }),
          created('a3', 'Gamma', day(2)),
          created('a4', 'delta', day(4), { region: 'eu-west-1' }),
          created('a5', 'Eps (1.*)', day(5)),
          created('gone', 'Gone', day(6)),
          keyEvent('a3', 1, 'ApiKeyStatusChanged', { status: 'DISABLED', reason: 'OWNER' }, day(3)),
          keyEvent('gone', 1, 'ApiKeyDeleted', {}, day(7)),
          used([['a1', day(20)], ['a3', day(10)], ['a5', day(20)]]),
        ]);
      };
      const pageThrough = async (order: ApiKeyOrder, pageSize: number, filter = {}): Promise<string[]> => {
        const ids: string[] = [];
        let after: string | null = null;
        for (;;) {
          const selected = listFilter(accountId, filter);
          const page = await keys().find(after ? { $and: [selected, afterCursorFilter(order, after)] } : selected, { sort: listSort(order), limit: pageSize }).toArray();
          ids.push(...page.map((document) => document._id));
          const last = page[page.length - 1];
          if (page.length < pageSize || !last) return ids;
          after = encodeCursor(order, last);
        }
      };

      it.each<[ApiKeyOrder, string[]]>([
        ['CREATED_AT_DESC', ['a5', 'a4', 'a3', 'a2', 'a1']],
        ['CREATED_AT_ASC', ['a1', 'a2', 'a3', 'a4', 'a5']],
        ['LAST_USED_DESC', ['a5', 'a1', 'a3', 'a4', 'a2']],
        ['NAME_ASC', ['a1', 'a2', 'a4', 'a5', 'a3']],
      ])('sorts %s (ties by id, never-used keys last) and pages with cursors the same at any page size', async (order, expected) => {
        await fill();
        for (const pageSize of [1, 2, 10]) expect(await pageThrough(order, pageSize)).toEqual(expected);
      });

      it('filters by status, region, case-insensitive $regex on name or description, unusedSince ($or with null), and counts', async () => {
        await fill();
        expect(await pageThrough('CREATED_AT_ASC', 10, { status: 'DISABLED' })).toEqual(['a3']);
        expect(await pageThrough('CREATED_AT_ASC', 10, { region: 'eu-west-1' })).toEqual(['a4']);
        expect(await pageThrough('CREATED_AT_ASC', 10, { search: 'batch jobs' })).toEqual(['a2']);
        expect(await pageThrough('CREATED_AT_ASC', 10, { search: '(1.*)' })).toEqual(['a5']);
        expect(await pageThrough('CREATED_AT_ASC', 10, { unusedSince: new Date(day(15)) })).toEqual(['a2', 'a3', 'a4']);
        expect(await keys().countDocuments(listFilter(accountId))).toBe(5);
        expect(await keys().countDocuments(listFilter(accountId, { status: 'ENABLED', search: 'a' }))).toBe(3);
        expect(await keys().countDocuments({ accountId, deletedAt: null })).toBe(5);
      });

      it('returns only the projected fields (and _id) with the projection option', async () => {
        await fill();
        expect(await keys().findOne({ _id: 'a1' }, { projection: { lastUsedAt: 1 } })).toEqual({ _id: 'a1', lastUsedAt: new Date(day(20)) });
        expect(await keys().findOne({ _id: 'a2' }, { projection: { lastUsedAt: 1 } })).toEqual({ _id: 'a2', lastUsedAt: null });
      });
    });

    describe('the driver\'s semantics the adapters must share', () => {
      // A collection of its own per case: MongoDB's dropDatabase also drops indexes, the in-process one keeps their definitions.
      let plainName = '';
      beforeEach(() => {
        plainName = `contractPlain${Math.random().toString(36).slice(2, 10)}`;
      });
      const plain = () => database.collection<Document>(plainName);

      it('upserts from the filter\'s equality fields plus $setOnInsert, and leaves an existing document alone', async () => {
        const first = await plain().updateOne({ _id: 'd1' }, { $setOnInsert: { a: 1 }, $set: { b: 2 } }, { upsert: true });
        expect(first).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 1 });
        const second = await plain().updateOne({ _id: 'd1' }, { $setOnInsert: { a: 99 } }, { upsert: true });
        expect(second).toMatchObject({ matchedCount: 1, modifiedCount: 0, upsertedCount: 0 });
        expect(await plain().findOne({ _id: 'd1' })).toEqual({ _id: 'd1', a: 1, b: 2 });
        expect(await plain().updateOne({ _id: 'missing' }, { $set: { a: 1 } })).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 0 });
      });

      it('refuses a duplicate on a unique index with code 11000', async () => {
        await plain().createIndex({ keyId: 1 }, { unique: true });
        await plain().updateOne({ _id: 'h1' }, { $setOnInsert: { keyId: 'same' } }, { upsert: true });
        const error = await rejection(plain().updateOne({ _id: 'h2' }, { $setOnInsert: { keyId: 'same' } }, { upsert: true }));
        expect(error).toMatchObject({ code: DUPLICATE_KEY });
        expect(await plain().countDocuments({})).toBe(1);
      });

      it('stops an ordered bulkWrite at the first failure: earlier writes stay, later ones are not made', async () => {
        await plain().createIndex({ keyId: 1 }, { unique: true });
        await plain().updateOne({ _id: 'x' }, { $setOnInsert: { keyId: 'taken' } }, { upsert: true });
        const error = await rejection(
          plain().bulkWrite(
            [
              { updateOne: { filter: { _id: 'before' }, update: { $setOnInsert: { keyId: 'b' } }, upsert: true } },
              { updateOne: { filter: { _id: 'clash' }, update: { $setOnInsert: { keyId: 'taken' } }, upsert: true } },
              { updateOne: { filter: { _id: 'after' }, update: { $setOnInsert: { keyId: 'a' } }, upsert: true } },
            ],
            { ordered: true },
          ),
        );
        expect(error).toMatchObject({ code: DUPLICATE_KEY });
        expect((await plain().find({}, { sort: { _id: 1 } }).toArray()).map((document) => document['_id'])).toEqual(['before', 'x']);
      });

      it('reports what a bulkWrite matched, modified and upserted', async () => {
        await plain().updateOne({ _id: 'm' }, { $set: { n: 1 } }, { upsert: true });
        const result = await plain().bulkWrite([
          { updateOne: { filter: { _id: 'm' }, update: { $set: { n: 2 } } } },
          { updateOne: { filter: { _id: 'new' }, update: { $set: { n: 1 } }, upsert: true } },
          { updateOne: { filter: { _id: 'm', n: { $lt: 2 } }, update: { $set: { n: 3 } } } },
        ]);
        expect(result).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedCount: 1, deletedCount: 0 });
        // A batch whose events touch nothing here is empty: nothing changes, nothing fails.
        expect(await plain().bulkWrite([])).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 0, deletedCount: 0 });
      });

      it('updates every matching document with updateMany inside a bulkWrite, and counts them', async () => {
        for (const [id, group] of [['u1', 1], ['u2', 1], ['u3', 2]] as const) await plain().updateOne({ _id: id }, { $set: { group, n: 0 } }, { upsert: true });
        const result = await plain().bulkWrite([{ updateMany: { filter: { group: 1, n: { $lt: 1 } }, update: { $set: { n: 1 } } } }]);
        expect(result).toEqual({ matchedCount: 2, modifiedCount: 2, upsertedCount: 0, deletedCount: 0 });
        expect((await plain().find({}, { sort: { _id: 1 } }).toArray()).map((document) => document['n'])).toEqual([1, 1, 0]);
        const again = await plain().bulkWrite([{ updateMany: { filter: { group: 1, n: { $lt: 1 } }, update: { $set: { n: 1 } } } }]);
        expect(again).toEqual({ matchedCount: 0, modifiedCount: 0, upsertedCount: 0, deletedCount: 0 });
      });

      it('deletes every matching document with deleteMany (usage retention), and finds them no more, by index or not', async () => {
        const usage = () => database.collection(COLLECTIONS.usage);
        for (const [id, granularity, start] of [['b1', 'MINUTE', 1], ['b2', 'MINUTE', 5], ['b3', 'HOUR', 1]] as const) {
          await usage().updateOne({ _id: id }, { $setOnInsert: { keyId: 'k', granularity, start: new Date(start * 60_000) } }, { upsert: true });
        }
        expect(await usage().deleteMany({ granularity: 'MINUTE', start: { $lt: new Date(3 * 60_000) } })).toEqual({ deletedCount: 1 });
        expect((await usage().find({ keyId: 'k' }, { sort: { _id: 1 } }).toArray()).map((document) => document['_id'])).toEqual(['b2', 'b3']);
        expect(await usage().countDocuments({ granularity: 'MINUTE' })).toBe(1);
        expect(await usage().deleteMany({ granularity: 'DAY' })).toEqual({ deletedCount: 0 });
      });

      it('empties every collection with dropDatabase', async () => {
        for (const id of ['p', 'q', 's']) await plain().updateOne({ _id: id }, { $set: { v: 1 } }, { upsert: true });
        await database.dropDatabase();
        expect(await plain().countDocuments({})).toBe(0);
      });
    });
  });
}


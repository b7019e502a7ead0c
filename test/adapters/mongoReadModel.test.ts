import * as mongodb from 'mongodb';
import { MongoReadModelCollection, fromDriverError } from '../../src/adapters/mongodb/mongoReadModel';
import { ReadModelUnavailableError } from '../../src/ports/collection';

/** A stand-in for a driver Collection that records each call and answers the way the driver does. */
function fakeCollection(answers: Partial<Record<string, unknown>> = {}) {
  const calls: Array<[string, unknown[]]> = [];
  const record = (method: string, answer: unknown) => (...args: unknown[]) => (calls.push([method, args]), answer);
  const fake = {
    collectionName: 'apiKeys',
    findOne: record('findOne', Promise.resolve(answers['findOne'] ?? null)),
    find: record('find', { toArray: async () => answers['find'] ?? [] }),
    countDocuments: record('countDocuments', Promise.resolve(3)),
    // The driver's results carry more than the port's: only the counts pass.
    updateOne: record('updateOne', Promise.resolve({ acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null })),
    bulkWrite: record('bulkWrite', Promise.resolve({ isOk: () => true, insertedCount: 0, matchedCount: 2, modifiedCount: 1, upsertedCount: 1, deletedCount: 0, upsertedIds: { 0: 'x' } })),
    createIndex: record('createIndex', Promise.resolve('keyId_1')),
    deleteOne: record('deleteOne', Promise.resolve({ acknowledged: true, deletedCount: 1 })),
    deleteMany: record('deleteMany', Promise.resolve({ acknowledged: true, deletedCount: 4 })),
  };
  return { collection: new MongoReadModelCollection(fake as unknown as mongodb.Collection), calls };
}

describe('MongoDB read model: a pass-through to the driver', () => {
  it('passes filters and options (sort, limit, projection) as they are, and returns the driver\'s documents', async () => {
    const lastUsedAt = new Date('2026-11-25T09:00:00.000Z');
    const { collection, calls } = fakeCollection({ findOne: { _id: 'k1', lastUsedAt }, find: [{ _id: 'k1' }] });
    expect(await collection.findOne({ _id: 'k1' }, { projection: { lastUsedAt: 1 } })).toEqual({ _id: 'k1', lastUsedAt });
    expect(await collection.find({ accountId: 'a', deletedAt: null }, { sort: { createdAt: -1, _id: -1 }, limit: 21 }).toArray()).toEqual([{ _id: 'k1' }]);
    expect(await collection.countDocuments({ accountId: 'a' })).toBe(3);
    expect(calls).toEqual([
      ['findOne', [{ _id: 'k1' }, { projection: { lastUsedAt: 1 } }]],
      ['find', [{ accountId: 'a', deletedAt: null }, { sort: { createdAt: -1, _id: -1 }, limit: 21 }]],
      ['countDocuments', [{ accountId: 'a' }]],
    ]);
    expect(collection.collectionName).toBe('apiKeys');
  });

  it('runs bulkWrite ordered unless told otherwise, and returns the port\'s counts only', async () => {
    const { collection, calls } = fakeCollection();
    const operations = [{ updateOne: { filter: { _id: 'k1', revision: { $lt: 2 } }, update: { $set: { revision: 2 } } } }];
    expect(await collection.bulkWrite(operations)).toEqual({ matchedCount: 2, modifiedCount: 1, upsertedCount: 1, deletedCount: 0 });
    await collection.bulkWrite(operations, { ordered: false });
    expect(calls.map(([, args]) => args[1])).toEqual([{ ordered: true }, { ordered: false }]);
    expect(await collection.updateOne({ _id: 'k1' }, { $set: { a: 1 } }, { upsert: true })).toEqual({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect(await collection.deleteMany({ group: 1 })).toEqual({ deletedCount: 4 });
    expect(await collection.createIndex({ keyId: 1 }, { unique: true })).toBe('keyId_1');
  });

  it('names an unreachable server as ReadModelUnavailableError and leaves every other error as the driver raised it', async () => {
    const network = new mongodb.MongoNetworkError('connection 3 to 10.0.0.7:27017 closed');
    const translated = fromDriverError(network);
    expect(translated).toBeInstanceOf(ReadModelUnavailableError);
    expect((translated as Error).cause).toBe(network);
    const duplicate = new mongodb.MongoServerError({ message: 'E11000 duplicate key error', code: 11000 });
    expect(fromDriverError(duplicate)).toBe(duplicate);
    expect((fromDriverError(duplicate) as { code: number }).code).toBe(11000);
  });

  it.each([
    ['a network error', new mongodb.MongoNetworkError('connection 3 to 10.0.0.7:27017 closed')],
    ['a server-selection timeout', new mongodb.MongoServerSelectionError('Server selection timed out after 2000 ms', { type: 'Unknown', servers: new Map(), stale: false, compatible: true, heartbeatFrequencyMS: 10000, localThresholdMS: 15 } as never)],
  ])('names %s that bulkWrite wraps in MongoBulkWriteError as ReadModelUnavailableError', (_name, cause) => {
    const wrapped = new mongodb.MongoBulkWriteError(cause, {} as never);
    const translated = fromDriverError(wrapped);
    expect(translated).toBeInstanceOf(ReadModelUnavailableError);
    expect((translated as Error).cause).toBe(wrapped);
    // A real write error in a bulk (a duplicate key) stays the driver's.
    const duplicate = new mongodb.MongoBulkWriteError({ message: 'E11000 duplicate key error', code: 11000, writeErrors: [] }, {} as never);
    expect(fromDriverError(duplicate)).toBe(duplicate);
  });
});

import pino from 'pino';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Collection, Database, Document } from '../../src/ports/collection';
import { seedKeys } from '../../bench/seed';
import { COLLECTIONS } from '../../src/readModel/documents';
import { ProjectionRunner } from '../../projections/runner';
import { until } from '../support/apiHelpers';

const logger = pino({ level: 'silent' });

/** A read model whose process "dies" at the Nth bulkWrite to one collection: that write and everything after it never happen. */
function crashingReadModel(inner: Database, collectionName: string, crashAt: number): Database {
  let writes = 0;
  return {
    collection: <T extends Document>(name: string): Collection<T> =>
      new Proxy(inner.collection<T>(name), {
        get: (target, property, receiver) =>
          property === 'bulkWrite' && name === collectionName
            ? async (...args: Parameters<Collection<T>['bulkWrite']>) => {
                writes += 1;
                if (writes >= crashAt) throw new Error('simulated crash in the middle of a batch');
                return target.bulkWrite(...args);
              }
            : Reflect.get(target, property, receiver),
      }),
    dropDatabase: () => inner.dropDatabase(),
  };
}

async function project(store: SqliteEventStore, database: Database): Promise<void> {
  const runner = new ProjectionRunner(store, database, logger);
  await runner.start();
  await runner.caughtUp;
  await runner.stop();
}

const everything = async (database: Database) =>
  Object.fromEntries(
    await Promise.all(
      Object.values(COLLECTIONS).map(async (name) => [name, await database.collection(name).find({}, { sort: { _id: 1 } }).toArray()] as const),
    ),
  );

describe('A crash in the middle of a projection batch', () => {
  const store = new SqliteEventStore(':memory:');
  afterAll(() => store.dispose());

  it('loses and duplicates nothing: after restart from the checkpoint the read model equals one built without a crash', async () => {
    await seedKeys(store, { keys: 1500, sampleSize: 1, keepIndex: false }); // some thousands of events: several batches
    const reference = new InProcessDatabase();
    await project(store, reference);

    const survivor = new InProcessDatabase();
    // The key list of the third batch is written, its hashed-key index and checkpoint are not.
    const crashed = new ProjectionRunner(store, crashingReadModel(survivor, COLLECTIONS.keyIndex, 3), logger);
    try {
      await crashed.start();
      await until(async () => !crashed.healthy); // it has crashed (and keeps crashing on every retry)
    } finally {
      await crashed.stop(); // the "process" is gone: no retry of its own goes on
    }
    const checkpointAtCrash = await survivor.collection(COLLECTIONS.checkpoints).findOne({});
    expect(checkpointAtCrash).not.toBeNull(); // two whole batches made it
    expect(await survivor.collection(COLLECTIONS.apiKeys).countDocuments({})).toBeGreaterThan(await survivor.collection(COLLECTIONS.keyIndex).countDocuments({}));

    await project(store, survivor); // the restart: a new runner from the stored checkpoint
    expect(await everything(survivor)).toEqual(await everything(reference));
    expect(await survivor.collection(COLLECTIONS.apiKeys).countDocuments({})).toBe(1500);
  });
});

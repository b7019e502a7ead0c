import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { AnyBulkWriteOperation, Database } from '../../src/ports/collection';
import { jsonEvent, NO_STREAM } from '../../src/ports/eventStore';
import { apiKeyStream } from '../../src/eventLog/streams';
import { createLogger } from '../../src/logger';
import type { ProjectedEvent } from '../../src/readModel/projectedEvent';
import type { ApiKeyDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { ProjectionRunner } from '../../projections/runner';

const logger = createLogger('silent');
let sequence = 0;

/** Appends a key's creation and `renames` renames to the log, as the command side would. */
async function appendKey(store: SqliteEventStore, renames = 0) {
  sequence += 1;
  const keyId = `key-${sequence}`;
  const base = { keyId, accountId: 'acct', occurredAt: new Date().toISOString() };
  const events = [
    jsonEvent({
      type: 'ApiKeyCreated',
      data: { ...base, name: 'name 0', description: null, region: 'r', secretHash: `hash-${keyId}`, maskedKey: 'sk-ab***wxyz', scope: { mode: 'ALL', models: [], services: [] }, ipAllowlist: [], expiresAt: null, termsAccepted: true },
    }),
    ...Array.from({ length: renames }, (_, i) => jsonEvent({ type: 'ApiKeyRenamed', data: { ...base, name: `name ${i + 1}`, previousName: `name ${i}` } })),
  ];
  const result = await store.appendToStream(apiKeyStream(keyId), events, { expectedRevision: NO_STREAM });
  return { keyId, position: result.position! };
}

const keyDoc = (database: Database, keyId: string) => database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: keyId });

describe('ProjectionRunner', () => {
  let store: SqliteEventStore;
  const runners: ProjectionRunner[] = [];
  const startRunner = async (database: Database) => {
    const runner = new ProjectionRunner(store, database, logger);
    runners.push(runner);
    const applied: ProjectedEvent[] = [];
    runner.onApplied((events) => applied.push(...events));
    await runner.start();
    return { runner, applied };
  };

  beforeEach(() => {
    store = new SqliteEventStore(':memory:');
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
    await store.dispose();
  });

  it('should find its newest event behind any number of other applications\' events in $all before saying it caught up', async () => {
    const { keyId } = await appendKey(store, 1);
    for (let i = 0; i < 12; i += 1) {
      await store.appendToStream(`$stats-${i}`, Array.from({ length: 1000 }, () => jsonEvent({ type: '$statsCollected', data: {} })));
    }
    const database = new InProcessDatabase();
    const { runner } = await startRunner(database);
    await runner.caughtUp;
    expect(await keyDoc(database, keyId)).toMatchObject({ name: 'name 1', version: 2 });
  });

  it('should catch up with the log present at start before saying so', async () => {
    const { keyId } = await appendKey(store, 3);
    const database = new InProcessDatabase();
    const { runner } = await startRunner(database);
    await runner.caughtUp;
    expect(await keyDoc(database, keyId)).toMatchObject({ name: 'name 3', version: 4 });
  });

  it('should resolve waitFor once the read model reflects a new append (read-your-writes)', async () => {
    const database = new InProcessDatabase();
    const { runner } = await startRunner(database);
    await runner.caughtUp;
    const { keyId, position } = await appendKey(store, 1);
    expect(await runner.waitFor(position)).toBe(true);
    expect(await keyDoc(database, keyId)).toMatchObject({ name: 'name 1', version: 2 });
  });

  it('should deliver every applied event to listeners once, in log order', async () => {
    const database = new InProcessDatabase();
    const { runner, applied } = await startRunner(database);
    const appended = [];
    let events = 0;
    for (let i = 0; i < 20; i += 1) {
      appended.push(await appendKey(store, i % 3));
      events += 1 + (i % 3);
    }
    await runner.waitFor(appended[appended.length - 1]!.position);
    const positions = applied.map((event) => Number(event.position.commit));
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).toBe(positions.length);
    expect(applied).toHaveLength(events);
  });

  it('should resume from its checkpoint after the read model fails, losing and duplicating nothing', async () => {
    const database = new InProcessDatabase();
    const failing: Database = {
      collection: (name) => {
        const collection = database.collection(name);
        return Object.assign(Object.create(collection), {
          bulkWrite: async (operations: AnyBulkWriteOperation[]) => {
            if (failures > 0 && name === COLLECTIONS.keyIndex) {
              failures -= 1;
              throw new Error('read model unreachable');
            }
            return collection.bulkWrite(operations);
          },
        });
      },
      dropDatabase: () => database.dropDatabase(),
    };
    let failures = 0;
    const { runner, applied } = await startRunner(failing);
    await runner.caughtUp;
    failures = 2; // the next two batches fail half-way (after the key list was written, before the index)
    const { keyId, position } = await appendKey(store, 2);
    expect(await runner.waitFor(position, 10_000)).toBe(true);
    expect(await keyDoc(database, keyId)).toMatchObject({ name: 'name 2', version: 3 });
    expect(await database.collection(COLLECTIONS.keyIndex).findOne({ keyId })).toMatchObject({ revision: 0 });
    expect(applied.map((event) => event.type)).toEqual(['ApiKeyCreated', 'ApiKeyRenamed', 'ApiKeyRenamed']);
  });

  it('should start from a stored checkpoint, not from the beginning', async () => {
    const database = new InProcessDatabase();
    const first = await startRunner(database);
    const { position } = await appendKey(store);
    await first.runner.waitFor(position);
    await first.runner.stop();

    const { keyId, position: later } = await appendKey(store, 1);
    const second = await startRunner(database);
    await second.runner.caughtUp;
    expect(await second.runner.waitFor(later)).toBe(true);
    expect(second.applied.map((event) => event.data['keyId'])).toEqual([keyId, keyId]);
  });
});

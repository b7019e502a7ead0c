import { join } from 'node:path';
import Database from 'better-sqlite3';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Collection, Database as ReadModel, Document } from '../../src/ports/collection';
import type { EventStore } from '../../src/ports/eventStore';
import { EventStoreUnavailableError, jsonEvent, NO_STREAM } from '../../src/ports/eventStore';
import { apiKeyStream } from '../../src/eventLog/streams';
import type { Logger } from '../../src/logger';
import type { ApiKeyDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { ProjectionRunner, RETRY_DELAYS_MS } from '../../projections/runner';
import { freshDataDir } from '../support/keyhubProcess';
import { until } from '../support/apiHelpers';

/** A logger that keeps what was logged (level, fields, message). */
function recordingLogger() {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => void lines.push({ level, fields, message });
  const logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger;
  return { logger, lines };
}

const created = (keyId: string) =>
  jsonEvent({
    type: 'ApiKeyCreated',
    data: { keyId, accountId: 'acct', occurredAt: new Date().toISOString(), name: 'name 0', description: null, region: 'r', secretHash: `hash-${keyId}`, maskedKey: 'sk-ab***wxyz', scope: { mode: 'ALL', models: [], services: [] }, ipAllowlist: [], expiresAt: null, termsAccepted: true },
  });
const renamed = (keyId: string, name: string) => jsonEvent({ type: 'ApiKeyRenamed', data: { keyId, accountId: 'acct', occurredAt: new Date().toISOString(), name, previousName: 'x' } });

/** The runner's waits, in the test's hand: each is recorded and returns at once (after one turn of the event loop, as no time passes). */
const recordingSleep = (delays: number[]) => async (ms: number) => {
  delays.push(ms);
  await new Promise((resolve) => setImmediate(resolve));
};

/** A read model whose key-index writes fail while `failing.on` (a read model that refuses one batch over and over). */
function refusingReadModel(inner: ReadModel) {
  const failing = { on: false };
  const database: ReadModel = {
    collection: <T extends Document>(name: string): Collection<T> =>
      new Proxy(inner.collection<T>(name), {
        get: (target, property, receiver) =>
          property === 'bulkWrite' && name === COLLECTIONS.keyIndex
            ? async (...args: Parameters<Collection<T>['bulkWrite']>) => {
                if (failing.on) throw new Error('read model refuses the write');
                return target.bulkWrite(...args);
              }
            : Reflect.get(target, property, receiver),
      }),
    dropDatabase: () => inner.dropDatabase(),
  };
  return { database, failing };
}

/** Counts the subscriptions opened on a store (each retry opens one). */
function countingSubscriptions(store: EventStore): { store: EventStore; subscriptions: () => number } {
  let count = 0;
  const counting = Object.create(store) as EventStore;
  counting.subscribeToAll = (...args) => ((count += 1), store.subscribeToAll(...args));
  return { store: counting, subscriptions: () => count };
}

/** A store that goes down on demand: open subscriptions break, and every read fails until it is up again. */
function outageStore(inner: EventStore) {
  const breakers = new Set<(error: Error) => void>();
  const state = { down: false };
  const unavailable = () => new EventStoreUnavailableError('simulated outage');
  const store: EventStore = {
    appendToStream: (...args) => inner.appendToStream(...args),
    readStream: (...args) => inner.readStream(...args),
    readAll: (...args) => {
      if (state.down) throw unavailable();
      return inner.readAll(...args);
    },
    subscribeToAll: (...args) => {
      if (state.down) throw unavailable();
      const subscription = inner.subscribeToAll(...args);
      const iterator = subscription[Symbol.asyncIterator]();
      const broken = new Promise<never>((_resolve, reject) => breakers.add(reject));
      broken.catch(() => undefined);
      return {
        [Symbol.asyncIterator]: () => ({ next: () => Promise.race([iterator.next(), broken]), [Symbol.asyncIterator]() { return this; } }),
        unsubscribe: () => subscription.unsubscribe(),
      };
    },
    dispose: () => inner.dispose(),
  };
  const goDown = () => {
    state.down = true;
    for (const breakSubscription of breakers) breakSubscription(unavailable());
    breakers.clear();
  };
  return { store, state, goDown };
}

const keyDoc = (database: ReadModel, keyId: string) => database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: keyId });

describe('ProjectionRunner failures', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('backs off at a position that keeps failing (growing, capped, not reset by a successful engine probe), one log line per attempt, one stack trace', async () => {
    const store = new SqliteEventStore(':memory:');
    const inner = new InProcessDatabase();
    const { database, failing } = refusingReadModel(inner);
    const { logger, lines } = recordingLogger();
    const delays: number[] = [];
    const runner = new ProjectionRunner(store, database, logger, { sleep: recordingSleep(delays) });
    cleanup.push(() => store.dispose(), () => runner.stop());
    await runner.start();
    await runner.caughtUp;

    const first = await store.appendToStream(apiKeyStream('k1'), created('k1'), { expectedRevision: NO_STREAM });
    expect(await runner.waitFor(first.position!)).toBe(true);
    failing.on = true;
    const stuck = await store.appendToStream(apiKeyStream('k2'), created('k2'), { expectedRevision: NO_STREAM });
    await until(async () => delays.length >= RETRY_DELAYS_MS.length + 3);

    const cap = RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1];
    expect(delays.slice(0, RETRY_DELAYS_MS.length + 3)).toEqual([...RETRY_DELAYS_MS, cap, cap, cap]);
    expect(delays.every((delay, i) => i === 0 || delay >= (delays[i - 1] as number))).toBe(true);
    expect(runner.problem).toMatchObject({ code: 'PROJECTION_RETRYING', position: first.position!.commit.toString() });
    expect(runner.healthy).toBe(false);

    const failures = lines.filter((line) => line.level === 'error' || line.level === 'warn');
    expect(failures.length).toBeGreaterThanOrEqual(delays.length - 1); // one line per attempt (the last may still be logging)
    expect(failures.length).toBeLessThanOrEqual(delays.length);
    expect(failures.filter((line) => 'err' in line.fields)).toHaveLength(1); // the stack trace once
    for (const line of failures) expect(line.fields['position']).toBe(first.position!.commit.toString());

    // The read model takes the batch again: the projection moves on, and the next failure starts from the shortest delay.
    failing.on = false;
    expect(await runner.waitFor(stuck.position!)).toBe(true);
    await until(async () => runner.healthy);
    delays.length = 0;
    failing.on = true;
    await store.appendToStream(apiKeyStream('k3'), created('k3'), { expectedRevision: NO_STREAM });
    await until(async () => delays.length >= 2);
    expect(delays.slice(0, 2)).toEqual(RETRY_DELAYS_MS.slice(0, 2));
  });

  it('starts the backoff afresh after an outage on a quiet log (nothing past the checkpoint keeps failing)', async () => {
    const sqlite = new SqliteEventStore(':memory:');
    const outage = outageStore(sqlite);
    const delays: number[] = [];
    // The engine comes back after three failed attempts.
    const sleep = async (ms: number) => {
      if (delays.push(ms) === 3) outage.state.down = false;
      await new Promise((resolve) => setImmediate(resolve)); // no time passes, but the event loop turns
    };
    const runner = new ProjectionRunner(outage.store, new InProcessDatabase(), recordingLogger().logger, { sleep });
    cleanup.push(() => sqlite.dispose(), () => runner.stop());
    await sqlite.appendToStream(apiKeyStream('k1'), created('k1'), { expectedRevision: NO_STREAM });
    await runner.start();
    await runner.caughtUp;

    outage.goDown();
    await until(async () => delays.length === 3 && runner.healthy);
    expect(delays).toEqual(RETRY_DELAYS_MS.slice(0, 3));
    // Resubscribed: wait until the new subscription is open before the next outage breaks it.
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    outage.goDown();
    await until(async () => delays.length >= 4);
    expect(delays[3]).toBe(RETRY_DELAYS_MS[0]);
  });

  it('stops at a row whose JSON cannot be parsed (written by another connection), naming its position and stream, after applying the events before it', async () => {
    const file = join(freshDataDir(), 'events.sqlite');
    const store = new SqliteEventStore(file);
    const counted = countingSubscriptions(store);
    const { logger, lines } = recordingLogger();
    const delays: number[] = [];
    const database = new InProcessDatabase();
    const runner = new ProjectionRunner(counted.store, database, logger, { sleep: recordingSleep(delays) });
    cleanup.push(() => store.dispose(), () => runner.stop());
    await store.appendToStream(apiKeyStream('k1'), created('k1'), { expectedRevision: NO_STREAM });
    await runner.start();
    await runner.caughtUp;

    // Another writer (a bad migration, a hand edit) leaves a good event and then a row that is not JSON, in one commit.
    const other = new Database(file);
    other.pragma('busy_timeout = 5000');
    const insert = other.prepare('INSERT INTO events (stream, revision, id, type, data, metadata, created) VALUES (?, ?, ?, ?, ?, ?, ?)');
    const positions = other.transaction(() => [
      Number(insert.run(apiKeyStream('k1'), 1, 'good-1', 'ApiKeyRenamed', JSON.stringify(renamed('k1', 'renamed').data), null, Date.now()).lastInsertRowid),
      Number(insert.run(apiKeyStream('k1'), 2, 'poison-1', 'ApiKeyRenamed', '{"keyId": "k1", "name": ', null, Date.now()).lastInsertRowid),
    ])();
    other.close();
    // The next append through the store wakes the subscription.
    const after = await store.appendToStream(apiKeyStream('k2'), created('k2'), { expectedRevision: NO_STREAM });

    await until(async () => runner.problem?.code === 'PROJECTION_STOPPED');
    expect(runner.problem).toMatchObject({ code: 'PROJECTION_STOPPED', position: String(positions[1]), streamId: apiKeyStream('k1'), eventType: 'ApiKeyRenamed' });
    expect(runner.healthy).toBe(false);
    expect(await keyDoc(database, 'k1')).toMatchObject({ name: 'renamed', version: 2 }); // the event before the poison row was applied
    expect(runner.checkpoint?.commit).toBe(BigInt(positions[0] as number));
    expect(await runner.waitFor(after.position!)).toBe(false); // at once: it will never get there

    const stops = lines.filter((line) => line.level === 'error');
    expect(stops).toHaveLength(1);
    expect(stops[0]?.message).toContain(`position ${positions[1]}`);
    expect(stops[0]?.message).toContain(apiKeyStream('k1'));
    // Not a loop: no retry, no new subscription (retries would come at once: the test's sleep does not wait).
    for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(delays).toEqual([]);
    expect(counted.subscriptions()).toBe(1);
  });

  it('stops at an event whose shape the projection cannot read (valid JSON, fields missing)', async () => {
    const store = new SqliteEventStore(':memory:');
    const { logger } = recordingLogger();
    const delays: number[] = [];
    const database = new InProcessDatabase();
    const runner = new ProjectionRunner(store, database, logger, { sleep: recordingSleep(delays) });
    cleanup.push(() => store.dispose(), () => runner.stop());
    await store.appendToStream(apiKeyStream('k1'), created('k1'), { expectedRevision: NO_STREAM });
    const malformed = await store.appendToStream(apiKeyStream('k1'), jsonEvent({ type: 'ApiKeyRenamed', data: { keyId: 'k1' } }), { expectedRevision: 0n });
    await store.appendToStream(apiKeyStream('k2'), created('k2'), { expectedRevision: NO_STREAM });

    await runner.start();
    await runner.caughtUpOrStopped; // start-up is not held forever by an event that will never apply
    expect(runner.problem).toMatchObject({ code: 'PROJECTION_STOPPED', position: malformed.position!.commit.toString(), streamId: apiKeyStream('k1') });
    expect(await keyDoc(database, 'k1')).toMatchObject({ name: 'name 0', version: 1 });
    expect(await keyDoc(database, 'k2')).toBeNull();
    expect(delays).toEqual([]);
  });

  it('starts, and says where it stopped, when the newest event of the log is the undecodable one', async () => {
    const file = join(freshDataDir(), 'events.sqlite');
    const writer = new SqliteEventStore(file);
    await writer.appendToStream(apiKeyStream('k1'), created('k1'), { expectedRevision: NO_STREAM });
    await writer.dispose();
    const other = new Database(file);
    const position = Number(other.prepare('INSERT INTO events (stream, revision, id, type, data, metadata, created) VALUES (?, 1, ?, ?, ?, NULL, ?)').run(apiKeyStream('k1'), 'poison', 'ApiKeyRenamed', 'not json', Date.now()).lastInsertRowid);
    other.close();

    const store = new SqliteEventStore(file);
    const runner = new ProjectionRunner(store, new InProcessDatabase(), recordingLogger().logger);
    cleanup.push(() => store.dispose(), () => runner.stop());
    await runner.start();
    await runner.caughtUpOrStopped;
    expect(runner.problem).toMatchObject({ code: 'PROJECTION_STOPPED', position: String(position) });
  });
});

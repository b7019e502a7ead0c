import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { ReadModelSnapshotter, loadReadModelSnapshot, writeReadModelSnapshot } from '../../src/adapters/inProcess/readModelSnapshot';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream, toEventData } from '../../src/eventLog/streams';
import { createLogger } from '../../src/logger';
import { NO_STREAM } from '../../src/ports/eventStore';
import { COLLECTIONS } from '../../src/readModel/documents';
import { CHECKPOINT_ID } from '../../projections/registry';
import { ProjectionRunner } from '../../projections/runner';
import { apiKeyCreated } from '../support/eventFixtures';

const METADATA = { actor: 'alice', correlationId: 'c', causationId: 'c', schemaVersion: EVENT_SCHEMA_VERSION };
const AT = { collection: COLLECTIONS.checkpoints, id: CHECKPOINT_ID };
const silent = createLogger('silent');

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'keyhub-read-model-snapshot-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function appendKeys(store: SqliteEventStore, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 1) {
    const key = { keyId: `key-${i}`, accountId: `acct-${i % 3}` };
    const events = [apiKeyCreated({ ...key, name: `key ${i}`, occurredAt: new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString() })];
    if (i % 4 === 0) events.push({ type: 'ApiKeyRenamed', data: { ...key, name: `renamed ${i}`, previousName: `key ${i}`, occurredAt: new Date(Date.UTC(2026, 10, 2)).toISOString() } } as never);
    await store.appendToStream(apiKeyStream(key.keyId), events.map((event) => toEventData(event, METADATA)), { expectedRevision: NO_STREAM });
    await store.appendToStream(accountStream(key.accountId), [toEventData({ type: 'AccountKeySlotReserved', data: { accountId: key.accountId, keyId: key.keyId, occurredAt: '2026-11-01T00:00:00.000Z' } }, METADATA)]);
  }
}

/** Catches `database` up with the log, as the service does at start. */
async function caughtUp(store: SqliteEventStore, database: InProcessDatabase): Promise<void> {
  const runner = new ProjectionRunner(store, database, silent);
  await runner.start();
  await runner.caughtUp;
  await runner.stop();
}

async function contents(database: InProcessDatabase) {
  const all: Record<string, unknown[]> = {};
  for (const name of Object.values(COLLECTIONS)) all[name] = (await database.collection(name).find({}).toArray()).sort((a, b) => String(a['_id']).localeCompare(String(b['_id'])));
  return all;
}

describe('Read model snapshot in DATA_DIR', () => {
  it('loads what was written, then catches up from the log to the same read model as a rebuild, even when taken while events were being applied', async () => {
    const store = new SqliteEventStore(join(dir, 'events.sqlite'));
    const file = join(dir, 'read-model.snapshot');
    await appendKeys(store, 0, 30);
    const running = new InProcessDatabase();
    await caughtUp(store, running);
    // Written while more events are applied: documents may be newer than the checkpoint it names.
    const runner = new ProjectionRunner(store, running, silent);
    await runner.start();
    const [written] = await Promise.all([writeReadModelSnapshot(running, store, file, AT), appendKeys(store, 30, 20)]);
    await runner.caughtUp;
    await runner.stop();
    expect(written).toBeGreaterThan(30);

    writeFileSync(`${file}.tmp-99999`, 'a write cut short');
    // Another process on the same DATA_DIR (alive: this one's parent) may be writing its snapshot right now.
    const another = `${file}.tmp-${process.ppid}-0123456789ab`;
    writeFileSync(another, 'being written by another process');
    const loaded = await loadReadModelSnapshot(store, file);
    expect('ignored' in loaded ? loaded.ignored : null).toBeNull();
    expect(existsSync(`${file}.tmp-99999`)).toBe(false);
    expect(existsSync(another)).toBe(true);
    await appendKeys(store, 50, 5);
    await caughtUp(store, loaded.database);
    const rebuilt = new InProcessDatabase();
    await caughtUp(store, rebuilt);
    expect(await contents(loaded.database)).toEqual(await contents(rebuilt));
    expect((await contents(rebuilt))[COLLECTIONS.apiKeys]).toHaveLength(55);
    // The key list answers from the loaded documents as from rebuilt ones (indexes rebuilt on load).
    const filter = { accountId: 'acct-1', deletedAt: null };
    expect(await loaded.database.collection(COLLECTIONS.apiKeys).countDocuments(filter)).toBe(await rebuilt.collection(COLLECTIONS.apiKeys).countDocuments(filter));
    await store.dispose();
  });

  it('ignores a snapshot that is damaged, truncated, or from another log (or one restored from an older backup), and the model is rebuilt', async () => {
    const store = new SqliteEventStore(join(dir, 'events.sqlite'));
    const file = join(dir, 'read-model.snapshot');
    await appendKeys(store, 0, 10);
    const database = new InProcessDatabase();
    await caughtUp(store, database);
    await writeReadModelSnapshot(database, store, file, AT);
    const intact = readFileSync(file);
    expect('ignored' in (await loadReadModelSnapshot(store, file))).toBe(false);

    const flipped = Buffer.from(intact);
    const middle = Math.floor(flipped.length / 2);
    flipped[middle] = (flipped[middle] as number) ^ 0xff;
    const cases: Array<[string, Buffer, RegExp]> = [
      ['a flipped byte', flipped, /checksum|unknown record|truncated|format|Unable|deserial/i],
      ['truncated', intact.subarray(0, intact.length - 10), /truncated/],
      ['garbage', Buffer.from('not a snapshot at all'), /truncated|format|deserial|Unable/i],
    ];
    for (const [, bytes, reason] of cases) {
      writeFileSync(file, bytes);
      const loaded = await loadReadModelSnapshot(store, file);
      expect('ignored' in loaded ? loaded.ignored : 'loaded').toMatch(reason);
      expect(await loaded.database.collection(COLLECTIONS.apiKeys).countDocuments({})).toBe(0);
    }

    // Another log with as many events: same positions, other event ids.
    writeFileSync(file, intact);
    const other = new SqliteEventStore(join(dir, 'other.sqlite'));
    await appendKeys(other, 100, 10);
    const foreign = await loadReadModelSnapshot(other, file);
    expect('ignored' in foreign ? foreign.ignored : 'loaded').toMatch(/another log/);
    // A log restored from a backup older than the snapshot: no event at its checkpoint.
    const older = new SqliteEventStore(join(dir, 'older.sqlite'));
    for await (const resolved of store.readAll({ maxCount: 5 })) {
      const event = resolved.event as NonNullable<typeof resolved.event>;
      await older.appendToStream(event.streamId, [{ id: event.id, contentType: 'application/json', type: event.type, data: event.data, metadata: event.metadata ?? {} }]);
    }
    const stale = await loadReadModelSnapshot(older, file);
    expect('ignored' in stale ? stale.ignored : 'loaded').toMatch(/another log/);
    // And the rebuild from that log works as without a snapshot.
    await caughtUp(older, stale.database);
    expect(await stale.database.collection(COLLECTIONS.apiKeys).countDocuments({})).toBeGreaterThan(0);
    await Promise.all([store.dispose(), other.dispose(), older.dispose()]);
  });

  it('is refreshed only when the checkpoint moved, and once more at stop', async () => {
    const store = new SqliteEventStore(join(dir, 'events.sqlite'));
    const file = join(dir, 'read-model.snapshot');
    const database = new InProcessDatabase();
    const errors: unknown[] = [];
    const snapshotter = new ReadModelSnapshotter(database, store, file, AT, 60_000, (error) => errors.push(error));
    await snapshotter.writeIfChanged();
    expect('ignored' in (await loadReadModelSnapshot(store, file))).toBe(true); // nothing applied yet: nothing written
    await appendKeys(store, 0, 3);
    await caughtUp(store, database);
    await snapshotter.writeIfChanged();
    const first = readFileSync(file);
    await snapshotter.writeIfChanged();
    expect(readFileSync(file).equals(first)).toBe(true);
    await appendKeys(store, 3, 2);
    await caughtUp(store, database);
    await snapshotter.stop();
    const loaded = await loadReadModelSnapshot(store, file);
    expect(await loaded.database.collection(COLLECTIONS.apiKeys).countDocuments({})).toBe(5);
    expect(errors).toEqual([]);
    await store.dispose();
  });
});

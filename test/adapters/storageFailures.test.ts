import { join } from 'node:path';
import pino from 'pino';
import { SqliteEventStore, fromStorageError } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import type { EventData } from '../../src/ports/eventStore';
import { EventStoreUnavailableError, jsonEvent } from '../../src/ports/eventStore';
import { freshDataDir } from '../support/keyhubProcess';
import { fillDisk } from '../support/fullDisk';
import { clientFor } from '../support/graphqlClient';
import { CREATE, LIST, VERIFY } from '../support/operations';
import { inProcessConfig as config, inProcessEngines } from './serviceHarness';

const sqliteError = (code: string) => Object.assign(new Error(`simulated ${code}`), { code });

describe('The embedded log on a full disk or a failing file system', () => {
  it('names full disks, I/O errors and read-only files as the port\'s "unavailable" (retryable) error, and nothing else', () => {
    for (const code of ['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_IOERR_FSYNC', 'SQLITE_READONLY', 'SQLITE_READONLY_DBMOVED', 'SQLITE_BUSY', 'ENOSPC', 'EIO', 'EROFS']) {
      const translated = fromStorageError(sqliteError(code), '/data/events.sqlite');
      expect(translated).toBeInstanceOf(EventStoreUnavailableError);
      expect((translated as Error).message).toContain(code);
    }
    for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CORRUPT', 'SQLITE_ERROR']) {
      const error = sqliteError(code);
      expect(fromStorageError(error, '/data/events.sqlite')).toBe(error);
    }
  });

  it('rejects appends with EventStoreUnavailableError while the disk is full, writes nothing of the failed group, and loses no acknowledged append', async () => {
    const file = join(freshDataDir(), 'events.sqlite');
    let store = new SqliteEventStore(file);
    const disk = fillDisk(store);
    const acknowledged: string[] = [];
    const refused: unknown[] = [];
    const refusedIds: string[] = [];
    // Rounds of concurrent appends (one group commit each) until the file has no room left.
    for (let round = 0; refused.length === 0 && round < 200; round += 1) {
      const events: EventData[] = Array.from({ length: 5 }, (_, i) => jsonEvent({ type: 'Filled', data: { round, i, padding: 'x'.repeat(200) } }));
      const outcomes = await Promise.allSettled(events.map((event, i) => store.appendToStream(`stream-${i}`, event)));
      outcomes.forEach((outcome, i) => {
        if (outcome.status === 'fulfilled') acknowledged.push((events[i] as EventData).id);
        else (refused.push(outcome.reason), refusedIds.push((events[i] as EventData).id));
      });
    }
    expect(acknowledged.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(EventStoreUnavailableError);
      expect((reason as Error).message).toMatch(/disk is full \(SQLITE_FULL\)/);
    }

    disk.free(); // room again: the next append goes through
    const later = jsonEvent({ type: 'AfterRoom', data: {} });
    await store.appendToStream('stream-later', later);
    await store.dispose();

    store = new SqliteEventStore(file);
    const stored: string[] = [];
    for await (const resolved of store.readAll()) stored.push(resolved.event!.id);
    await store.dispose();
    expect(stored).toEqual([...acknowledged, later.id]); // every acknowledged append, in order; nothing that was refused
    expect(stored.filter((id) => refusedIds.includes(id))).toEqual([]);
  });
});

describe('The service when its disk fills up', () => {
  let keyhub: Keyhub | null = null;
  afterEach(async () => keyhub?.stop());

  it('answers writes SERVICE_UNAVAILABLE (not INTERNAL_SERVER_ERROR), reports it on /readyz, keeps verifying, and recovers once there is room', async () => {
    const file = join(freshDataDir(), 'events.sqlite');
    const store = new SqliteEventStore(file);
    keyhub = await startKeyhub(config, pino({ level: 'silent' }), inProcessEngines(store));
    const readyz = async () => {
      const response = await fetch(keyhub!.url.replace(/\/graphql$/, '/readyz'));
      return { status: response.status, body: (await response.json()) as { ready: boolean; problems: Array<{ component: string; code: string; blocking: boolean }> } };
    };
    const owner = await clientFor(keyhub.url, { sub: 'alice', account: 'acct-disk' });
    const gateway = await clientFor(keyhub.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
    const first = (await owner.call(CREATE, { input: { name: 'before the disk filled', acceptTerms: true } })).createApiKey;
    const createdIds = [first.apiKey.id];

    const disk = fillDisk(store);
    let refusal = null;
    for (let i = 0; refusal === null && i < 300; i += 1) {
      const response = await owner.raw(CREATE, { input: { name: `filling ${i}`, description: 'd'.repeat(200), acceptTerms: true } });
      if (response.errors) refusal = response;
      else createdIds.push(response.data.createApiKey.apiKey.id);
    }
    expect(refusal?.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(refusal?.errors?.[0]?.message).toBe('the event store is unavailable; retry shortly');

    const degraded = await readyz();
    expect(degraded.status).toBe(200); // reads and verifications still work: the instance stays in rotation
    expect(degraded.body.problems).toEqual([expect.objectContaining({ component: 'eventStore', code: 'EVENT_STORE_WRITES_FAILING', blocking: false })]);
    expect((await gateway.call(VERIFY, { key: first.secret })).verifyApiKey).toMatchObject({ valid: true, keyId: first.apiKey.id });

    disk.free();
    const after = (await owner.call(CREATE, { input: { name: 'after room was made', acceptTerms: true } })).createApiKey;
    createdIds.push(after.apiKey.id);
    expect((await readyz()).body.problems).toEqual([]);

    // Every acknowledged key is there after a restart on the same log.
    await keyhub.stop();
    keyhub = await startKeyhub(config, pino({ level: 'silent' }), inProcessEngines(new SqliteEventStore(file)));
    const again = await clientFor(keyhub.url, { sub: 'alice', account: 'acct-disk' });
    const listed = (await again.call(LIST, { first: 100 })).apiKeys.nodes.map((node: { id: string }) => node.id);
    expect(listed.sort()).toEqual([...createdIds].sort());
  });
});

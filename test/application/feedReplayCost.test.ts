import { randomUUID } from 'node:crypto';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Caller } from '../../src/application/caller';
import { cursorOf } from '../../src/application/feedCursor';
import type { LiveSource } from '../../src/application/liveFeedSubscriptions';
import { LiveFeeds } from '../../src/application/liveFeedSubscriptions';
import { jsonEvent } from '../../src/ports/eventStore';
import { apiKeyStream } from '../../src/eventLog/streams';
import { apiKeyCreatedData } from '../support/eventFixtures';

const occurredAt = '2026-12-01T00:00:00.000Z';
/** A live side that never produces: these tests are about the replay. */
const silent: LiveSource = {
  apiKeyEvents: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined), return: async () => ({ done: true, value: undefined }) }) }),
  keyStatusChanges: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined), return: async () => ({ done: true, value: undefined }) }) }),
  webhookStatusChanges: () => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => undefined), return: async () => ({ done: true, value: undefined }) }) }),
};
const callerOf = (accountId: string): Caller => ({ sub: 'watcher', accountId, roles: [], requestId: 'r' });

async function createKeys(store: SqliteEventStore, accountId: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    const keyId = randomUUID();
    await store.appendToStream(apiKeyStream(keyId), jsonEvent({ type: 'ApiKeyCreated', data: apiKeyCreatedData({ keyId, accountId, occurredAt }) as never }));
  }
}

describe('Resuming a feed from an old cursor, with other tenants in the log', () => {
  const store = new SqliteEventStore(':memory:');
  let cursor = '';
  beforeAll(async () => {
    await createKeys(store, 'watched', 1);
    for await (const resolved of store.readAll()) cursor = cursorOf({ commit: resolved.commitPosition as bigint, prepare: resolved.commitPosition as bigint });
    await createKeys(store, 'noisy', 4_500); // another tenant's history after the cursor
    await createKeys(store, 'watched', 1);
  });
  afterAll(() => store.dispose());

  it('reads the log in pages and lets other requests run in between', async () => {
    const feed = new LiveFeeds(store, silent, 100, 100_000).apiKeyEvents(callerOf('watched'), cursor, () => undefined);
    let othersRan = 0;
    const tick = (): void => void (othersRan += 1);
    setImmediate(tick);
    const first = await feed.next(); // the watched account's key, behind 4,500 of the noisy tenant's events
    expect(first.done).toBe(false);
    expect(othersRan).toBe(1);
    await feed.return?.();
  });

  it('refuses a cursor further behind than FEED_REPLAY_MAX_EVENTS with BAD_USER_INPUT on after, instead of reading on', async () => {
    const feed = new LiveFeeds(store, silent, 100, 1_000).apiKeyEvents(callerOf('watched'), cursor, () => undefined);
    await expect(feed.next()).rejects.toMatchObject({ code: 'BAD_USER_INPUT', field: 'after', message: expect.stringContaining('1000 log events old') });
  });
});

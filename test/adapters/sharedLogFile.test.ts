import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPENDED_SUFFIX, SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { ResolvedEvent } from '../../src/ports/eventStore';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent } from '../../src/ports/eventStore';

const event = (n: number) => jsonEvent({ type: 'Noted', data: { n } });

/**
 * The embedded log shared by several processes on one DATA_DIR: here two connections to one file
 * (what two processes hold), each a store of its own, as each process has.
 */
describe('One SQLite log file, two stores (as two processes on one DATA_DIR)', () => {
  let dir: string;
  let first: SqliteEventStore;
  let second: SqliteEventStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyhub-shared-log-'));
    first = new SqliteEventStore(join(dir, 'events.sqlite'));
    second = new SqliteEventStore(join(dir, 'events.sqlite'));
  });
  afterEach(async () => {
    await first.dispose();
    await second.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("wakes one store's subscription with the other's appends, though it appends nothing itself", async () => {
    const subscription = second.subscribeToAll({ fromPosition: 'start' });
    const received: ResolvedEvent[] = [];
    const twoEvents = (async () => {
      for await (const resolved of subscription) {
        received.push(resolved);
        if (received.length === 2) return;
      }
    })();
    await first.appendToStream('note-1', event(1));
    await first.appendToStream('note-2', event(2));
    // Nothing in `second` is told of these appends: only its poll of the file can end this wait.
    await Promise.race([twoEvents, new Promise((_, reject) => setTimeout(() => reject(new Error(`received ${received.length} of 2 events`)), 5000))]);
    await subscription.unsubscribe();
    expect(received.map((resolved) => resolved.event?.streamId)).toEqual(['note-1', 'note-2']);
  });

  it('still wakes it by its poll when no notification arrives (a file system without file events)', async () => {
    rmSync(join(dir, `events.sqlite${APPENDED_SUFFIX}`)); // `first` now writes its notifications to a file no one watches
    const subscription = second.subscribeToAll({ fromPosition: 'start' });
    const iterator = subscription[Symbol.asyncIterator]();
    await first.appendToStream('note-1', event(1));
    const next = await Promise.race([iterator.next(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('not woken')), 5000))]);
    await subscription.unsubscribe();
    expect(next.value?.event?.streamId).toBe('note-1');
  });

  it("checks an expected revision against the other store's appends", async () => {
    await first.appendToStream('account-1', event(1), { expectedRevision: NO_STREAM });
    expect((await second.appendToStream('account-1', event(2), { expectedRevision: 0n })).nextExpectedRevision).toBe(1n);
    // `first` last wrote revision 0: its stale expectation is refused, in a group with an append that holds.
    const [stale, fresh] = await Promise.allSettled([
      first.appendToStream('account-1', event(3), { expectedRevision: 0n }),
      first.appendToStream('account-1', event(4), { expectedRevision: 1n }),
    ]);
    expect(stale).toMatchObject({ status: 'rejected', reason: expect.any(WrongExpectedVersionError) });
    expect(fresh).toMatchObject({ status: 'fulfilled', value: { nextExpectedRevision: 2n } });
  });

  it("waits for another process's write lock without holding the event loop, then appends", async () => {
    const other = new Database(join(dir, 'events.sqlite'));
    other.exec('BEGIN IMMEDIATE'); // another process in the middle of its commit
    let settled = false;
    const appending = first.appendToStream('note-1', event(1)).finally(() => (settled = true));
    // Timers run while the lock is held, and the append is still waiting after them: SQLite's own busy wait would have
    // held the event loop for its busy_timeout and then failed the append before any of these timers ran.
    for (let turn = 0; turn < 5; turn += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(settled).toBe(false);
    other.exec('COMMIT');
    other.close();
    expect((await appending).nextExpectedRevision).toBe(0n);
  });
});

import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { EventStore } from '../../src/ports/eventStore';
import { USAGE_STREAM } from '../../src/eventLog/streams';
import { UsageRecorder } from '../../src/application/usageRecorder';
import { createLogger } from '../../src/logger';

const WINDOW = 60_000;

async function usesWritten(store: EventStore): Promise<Array<{ keyId: string; usedAt: string }>> {
  const uses = [];
  try {
    for await (const resolved of store.readStream(USAGE_STREAM)) uses.push(...((resolved.event?.data['uses'] as Array<{ keyId: string; usedAt: string }>) ?? []));
  } catch {
    // no stream: nothing written
  }
  return uses;
}

describe('UsageRecorder', () => {
  let store: SqliteEventStore;
  let now: number;
  let recorder: UsageRecorder;

  beforeEach(() => {
    store = new SqliteEventStore(':memory:');
    now = Date.parse('2026-11-25T08:00:00.000Z');
    recorder = new UsageRecorder(store, createLogger('silent'), WINDOW, 1000, () => now);
  });
  afterEach(() => store.dispose());

  it('should write the first use of a key at the next flush', async () => {
    recorder.record('k1', 'a', now);
    await recorder.flush();
    expect(await usesWritten(store)).toEqual([{ keyId: 'k1', accountId: 'a', usedAt: '2026-11-25T08:00:00.000Z' }]);
  });

  it('should write at most one use per key per window, then the latest use once the window has passed', async () => {
    recorder.record('k1', 'a', now);
    await recorder.flush();
    for (let i = 1; i <= 5; i += 1) {
      now += 5_000;
      recorder.record('k1', 'a', now);
      await recorder.flush();
    }
    expect(await usesWritten(store)).toHaveLength(1);
    now = Date.parse('2026-11-25T08:01:00.000Z');
    await recorder.flush();
    const uses = await usesWritten(store);
    expect(uses).toHaveLength(2);
    expect(uses[1]).toEqual({ keyId: 'k1', accountId: 'a', usedAt: '2026-11-25T08:00:25.000Z' });
  });

  it('should coalesce many keys into one event per flush', async () => {
    for (let i = 0; i < 100; i += 1) recorder.record(`k${i}`, 'a', now);
    await recorder.flush();
    let events = 0;
    for await (const _ of store.readStream(USAGE_STREAM)) events += 1;
    expect(events).toBe(1);
    expect(await usesWritten(store)).toHaveLength(100);
  });

  it('should keep uses whose write failed and write them at the next flush', async () => {
    const failing: EventStore = Object.create(store);
    let fail = true;
    failing.appendToStream = (...args) => (fail ? Promise.reject(new Error('store down')) : store.appendToStream(...args));
    const flaky = new UsageRecorder(failing, createLogger('silent'), WINDOW, 1000, () => now);
    flaky.record('k1', 'a', now);
    await flaky.flush();
    expect(await usesWritten(store)).toHaveLength(0);
    fail = false;
    await flaky.stop();
    expect(await usesWritten(store)).toHaveLength(1);
  });
});

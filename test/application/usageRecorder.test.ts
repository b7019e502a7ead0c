import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { EventStore } from '../../src/ports/eventStore';
import { USAGE_STREAM } from '../../src/eventLog/streams';
import { UsageRecorder } from '../../src/application/usageRecorder';
import { createLogger } from '../../src/logger';


async function usesWritten(store: EventStore): Promise<Array<{ keyId: string; usedAt?: string }>> {
  const uses = [];
  try {
    for await (const resolved of store.readStream(USAGE_STREAM)) uses.push(...((resolved.event?.data['uses'] as Array<{ keyId: string; usedAt?: string }>) ?? []));
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
    recorder = new UsageRecorder(store, createLogger('silent'), 1000, () => now);
  });
  afterEach(() => store.dispose());

  it('should write the first use of a key at the next flush, with its count in its minute', async () => {
    recorder.record('k1', 'a', now);
    await recorder.flush();
    expect(await usesWritten(store)).toEqual([{ keyId: 'k1', accountId: 'a', usedAt: '2026-11-25T08:00:00.000Z', counts: [{ minute: '2026-11-25T08:00:00.000Z', requests: 1 }] }]);
  });

  it('should write at most one entry per key per flush, with the latest use and every count, and nothing when nothing happened', async () => {
    for (let i = 0; i < 5; i += 1) {
      recorder.record('k1', 'a', now + i * 1000);
      recorder.denied('k1', 'a', 'RATE_LIMITED', now + i * 1000);
    }
    recorder.recordTokens('k1', 'a', now + 59_000, 10, 5);
    recorder.recordTokens('k1', 'a', now + 61_000, 1, 2);
    await recorder.flush();
    await recorder.flush();
    expect(await usesWritten(store)).toEqual([
      {
        keyId: 'k1',
        accountId: 'a',
        usedAt: '2026-11-25T08:00:04.000Z',
        counts: [
          { minute: '2026-11-25T08:00:00.000Z', requests: 5, denied: { RATE_LIMITED: 5 }, promptTokens: 10, completionTokens: 5 },
          { minute: '2026-11-25T08:01:00.000Z', promptTokens: 1, completionTokens: 2 },
        ],
      },
    ]);
  });

  it('should write the limit windows a key was refused in with the minute they were refused in, each once', async () => {
    const minuteEnd = Date.parse('2026-11-25T08:01:00.000Z');
    const dayEnd = Date.parse('2026-11-26T00:00:00.000Z');
    recorder.denied('k1', 'a', 'RATE_LIMITED', now + 1000, minuteEnd);
    recorder.denied('k1', 'a', 'RATE_LIMITED', now + 2000, minuteEnd);
    recorder.denied('k1', 'a', 'QUOTA_EXHAUSTED', now + 3000, dayEnd);
    recorder.denied('k1', 'a', 'SCOPE_DENIED', now + 4000);
    await recorder.flush();
    expect(await usesWritten(store)).toEqual([
      {
        keyId: 'k1',
        accountId: 'a',
        counts: [
          {
            minute: '2026-11-25T08:00:00.000Z',
            denied: { RATE_LIMITED: 2, QUOTA_EXHAUSTED: 1, SCOPE_DENIED: 1 },
            limitsReached: [
              { reason: 'RATE_LIMITED', windowEnd: '2026-11-25T08:01:00.000Z' },
              { reason: 'QUOTA_EXHAUSTED', windowEnd: '2026-11-26T00:00:00.000Z' },
            ],
          },
        ],
      },
    ]);
  });

  it("should count its own uses and others' flushed uses toward the windows, and not its own flushed uses twice", async () => {
    const other = new UsageRecorder(store, createLogger('silent'), 1000, () => now);
    recorder.record('k1', 'a', now);
    other.record('k1', 'a', now);
    other.recordTokens('k1', 'a', now, 7, 3);
    await recorder.flush();
    await other.flush();
    const events: Array<{ type: string; data: unknown }> = [];
    for await (const resolved of store.readStream(USAGE_STREAM)) if (resolved.event) events.push({ type: resolved.event.type, data: resolved.event.data });
    recorder.applied(events);
    expect(recorder.countsOf('k1')).toMatchObject({ minuteRequests: 2, dayRequests: 2, minuteTokens: 10, monthTokens: 10 });
  });

  it('should coalesce many keys into one event per flush', async () => {
    for (let i = 0; i < 100; i += 1) recorder.record(`k${i}`, 'a', now);
    await recorder.flush();
    let events = 0;
    for await (const _ of store.readStream(USAGE_STREAM)) events += 1;
    expect(events).toBe(1);
    expect(await usesWritten(store)).toHaveLength(100);
  });

  it('should split a backlog into appends EventStoreDB accepts (at most 1 MiB each), so that uses keep being written after an outage', async () => {
    const MAX_APPEND_SIZE = 1024 * 1024;
    const sizes: number[] = [];
    const limited: EventStore = Object.create(store);
    limited.appendToStream = (stream, events, options) => {
      const size = (Array.isArray(events) ? events : [events]).reduce((total, e) => total + JSON.stringify(e.data).length + JSON.stringify(e.metadata ?? {}).length, 0);
      sizes.push(size);
      return size > MAX_APPEND_SIZE ? Promise.reject(new Error(`Maximum Append Size of ${MAX_APPEND_SIZE} Exceeded`)) : store.appendToStream(stream, events, options);
    };
    const backlog = new UsageRecorder(limited, createLogger('silent'), 1000, () => now);
    for (let i = 0; i < 12_000; i += 1) backlog.record(`key-${i.toString().padStart(24, '0')}`, `account-${i % 50}`, now);
    await backlog.flush();
    expect(new Set((await usesWritten(store)).map((use) => use.keyId)).size).toBe(12_000);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_APPEND_SIZE / 2);
  });

  it('should keep the chunks already written when a later one fails, and write only the rest at the next flush', async () => {
    const failing: EventStore = Object.create(store);
    let appends = 0;
    failing.appendToStream = (...args) => (++appends === 2 ? Promise.reject(new Error('store down')) : store.appendToStream(...args));
    const small = new UsageRecorder(failing, createLogger('silent'), 1000, () => now, 200);
    for (let i = 0; i < 6; i += 1) small.record(`k${i}`, 'a', now);
    await small.flush();
    const first = (await usesWritten(store)).map((use) => use.keyId);
    expect(first.length).toBeGreaterThan(0);
    expect(first.length).toBeLessThan(6);
    await small.flush();
    expect((await usesWritten(store)).map((use) => use.keyId).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('should keep uses whose write failed and write them at the next flush', async () => {
    const failing: EventStore = Object.create(store);
    let fail = true;
    failing.appendToStream = (...args) => (fail ? Promise.reject(new Error('store down')) : store.appendToStream(...args));
    const flaky = new UsageRecorder(failing, createLogger('silent'), 1000, () => now);
    flaky.record('k1', 'a', now);
    await flaky.flush();
    expect(await usesWritten(store)).toHaveLength(0);
    fail = false;
    await flaky.stop();
    expect(await usesWritten(store)).toHaveLength(1);
  });
});

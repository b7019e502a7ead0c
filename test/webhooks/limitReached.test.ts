import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { KEY_NOTICE_PREFIX } from '../../src/application/webhooks/noticeClaim';
import { OUTBOX_SOURCE_PREFIXES } from '../../src/application/webhooks/webhookOutbox';
import type { Position } from '../../src/ports/eventStore';
import { BACKWARDS, END, comparePositions } from '../../src/ports/eventStore';
import { until } from '../support/apiHelpers';
import { caller, startCore } from './core';
import { startReceiver } from './receiver';

type Core = Awaited<ReturnType<typeof startCore>>;

describe('LIMIT_REACHED: once per key, limit and window, fed from the usage events by the outbox', () => {
  const clock = { nowMs: 0 };
  let store: SqliteEventStore;
  let first: Core;
  let second: Core | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeEach(async () => {
    clock.nowMs = Math.floor(Date.now() / 60_000) * 60_000 + 10_000; // 10 s into a minute; the test moves it
    store = new SqliteEventStore(':memory:');
    first = await startCore(store, clock);
    receiver = await startReceiver([204]);
  });
  afterEach(async () => {
    await second?.stop();
    second = null;
    await first.stop();
    await receiver.close();
    await store.dispose();
  });

  const limitNotices = async () => {
    const notices: Array<{ type: string; data: unknown }> = [];
    for await (const resolved of store.readAll()) if (resolved.event?.streamId.startsWith(KEY_NOTICE_PREFIX)) notices.push({ type: resolved.event.type, data: resolved.event.data });
    return notices;
  };
  /** The outbox of `core` has read every event it follows that is in the log now. */
  const outboxCaughtUp = async (core: Core) => {
    let last: Position | null = null;
    for await (const resolved of store.readAll({ fromPosition: END, direction: BACKWARDS })) {
      if (resolved.event && OUTBOX_SOURCE_PREFIXES.some((prefix) => resolved.event!.streamId.startsWith(prefix))) {
        last = resolved.event.position;
        break;
      }
    }
    await until(async () => last === null || (core.webhooks.outbox.position !== null && comparePositions(core.webhooks.outbox.position, last) >= 0));
  };
  const wanting = (core: Core) => until(async () => core.webhooks.deliveries.accountsWanting('LIMIT_REACHED').has(caller.accountId));

  it('notices each window a key is refused in once, however many instances count the refusals and after a restart; allowed use notices nothing', async () => {
    const { webhook } = await first.services.webhooks.create(caller, receiver.url, ['LIMIT_REACHED']);
    await wanting(first);
    const { apiKey, secret } = await first.services.commands.create(caller, { name: 'limited', acceptTerms: true, limits: { requestsPerMinute: 2 } });
    const verify = (core: Core) => core.services.verifier.verify(secret, {});

    expect((await verify(first)).valid).toBe(true);
    expect((await verify(first)).valid).toBe(true);
    await first.usage.flush();
    await outboxCaughtUp(first);
    expect(await limitNotices()).toEqual([]); // at the limit, not yet refused

    expect(await verify(first)).toMatchObject({ valid: false, reason: 'RATE_LIMITED' });
    await first.usage.flush();
    second = await startCore(store, clock);
    await wanting(second);
    // The second instance counts the first's flushed uses: it refuses in the same window, and says so in its own usage event.
    await until(async () => (await verify(second!)).reason === 'RATE_LIMITED');
    await Promise.all([first.usage.flush(), second.usage.flush()]);
    expect((await verify(first)).reason).toBe('RATE_LIMITED');
    await first.usage.flush();
    await Promise.all([outboxCaughtUp(first), outboxCaughtUp(second)]);
    const minuteEnd = new Date(Math.ceil(clock.nowMs / 60_000) * 60_000).toISOString();
    expect(await limitNotices()).toEqual([
      { type: 'KeyLimitReachedNoticed', data: { keyId: apiKey.id, accountId: caller.accountId, reason: 'RATE_LIMITED', windowEndsAt: minuteEnd, occurredAt: new Date(Math.floor(clock.nowMs / 60_000) * 60_000).toISOString() } },
    ]);

    // The next minute is a new window: refused again, noticed again (once).
    clock.nowMs += 60_000;
    await second.stop();
    second = null;
    for (let i = 0; i < 2; i += 1) expect((await verify(first)).valid).toBe(true);
    expect((await verify(first)).reason).toBe('RATE_LIMITED');
    await first.usage.flush();
    // A restarted instance resumes from the outbox's checkpoint: refusals in the same window are not noticed twice.
    await first.stop();
    first = await startCore(store, clock);
    await wanting(first);
    await until(async () => (await verify(first)).reason === 'RATE_LIMITED');
    await first.usage.flush();
    await outboxCaughtUp(first);
    const nextMinuteEnd = new Date(Math.ceil(clock.nowMs / 60_000) * 60_000).toISOString();
    expect((await limitNotices()).map((notice) => (notice.data as { windowEndsAt: string }).windowEndsAt)).toEqual([minuteEnd, nextMinuteEnd]);

    await outboxCaughtUp(first); // the notices themselves are read and scheduled
    await until(async () => (await first.services.webhooks.history(caller, webhook.id, 20)).filter((delivery) => delivery.status === 'DELIVERED').length === 2);
    await first.webhooks.sender.tick();
    expect(receiver.received.map((request) => JSON.parse(request.body))).toEqual([
      { type: 'LIMIT_REACHED', timestamp: expect.any(String), data: { accountId: caller.accountId, keyId: apiKey.id, reason: 'RATE_LIMITED', windowEndsAt: minuteEnd } },
      { type: 'LIMIT_REACHED', timestamp: expect.any(String), data: { accountId: caller.accountId, keyId: apiKey.id, reason: 'RATE_LIMITED', windowEndsAt: nextMinuteEnd } },
    ]);
  });

  it('notices nothing for an account with no webhook wanting LIMIT_REACHED', async () => {
    await first.services.webhooks.create(caller, receiver.url, ['KEY_DISABLED']);
    const { secret } = await first.services.commands.create(caller, { name: 'limited', acceptTerms: true, limits: { requestsPerMinute: 1 } });
    await first.services.verifier.verify(secret, {});
    expect((await first.services.verifier.verify(secret, {})).reason).toBe('RATE_LIMITED');
    await first.usage.flush();
    await outboxCaughtUp(first);
    expect(await limitNotices()).toEqual([]);
  });
});

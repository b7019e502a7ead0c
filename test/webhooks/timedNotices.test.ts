import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { KEY_NOTICE_PREFIX } from '../../src/application/webhooks/timedNotices';
import { until } from '../support/apiHelpers';
import { caller, startCore } from './core';
import { startReceiver } from './receiver';

const DAY_MS = 86_400_000;

describe('Timed notices (KEY_EXPIRING, KEY_UNUSED), on a clock the test moves', () => {
  const clock = { nowMs: Date.now() };
  let store: SqliteEventStore;
  let first: Awaited<ReturnType<typeof startCore>>;
  let second: Awaited<ReturnType<typeof startCore>> | null = null;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeEach(async () => {
    clock.nowMs = Date.now();
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

  const noticesInLog = async () => {
    const types: string[] = [];
    for await (const resolved of store.readAll()) if (resolved.event?.streamId.startsWith(KEY_NOTICE_PREFIX)) types.push(resolved.event.type);
    return types;
  };
  const watching = async (kinds: string[]) => {
    const { webhook } = await first.services.webhooks.create(caller, receiver.url, kinds);
    await until(async () => kinds.every((kind) => first.webhooks.deliveries.accountsWanting(kind).has(caller.accountId)));
    return webhook;
  };

  it('tells the account a key expires within expiryWarningDays, once, however many instances scan and send', async () => {
    await first.services.commands.setAccountPolicy(caller, caller.accountId, { expiryWarningDays: 7 });
    const webhook = await watching(['KEY_EXPIRING']);
    const { apiKey } = await first.services.commands.create(caller, { name: 'expires in ten days', acceptTerms: true, expiresAt: new Date(clock.nowMs + 10 * DAY_MS) });
    await first.services.commands.create(caller, { name: 'never expires', acceptTerms: true });

    expect(await first.webhooks.notices.scan()).toBe(0); // ten days left: not yet
    clock.nowMs += 4 * DAY_MS;
    second = await startCore(store, clock);
    await until(async () => second!.webhooks.deliveries.accountsWanting('KEY_EXPIRING').has(caller.accountId));
    const sent = await Promise.all([first.webhooks.notices.scan(), second.webhooks.notices.scan()]);
    expect(sent.sort()).toEqual([0, 1]);
    expect(await first.webhooks.notices.scan()).toBe(0);
    expect(await noticesInLog()).toEqual(['KeyExpiringNoticed']);

    await until(async () => (await first.services.webhooks.history(caller, webhook.id, 20))[0]?.status === 'DELIVERED');
    expect(await first.services.webhooks.history(caller, webhook.id, 20)).toHaveLength(1);
    // Both instances send deliveries; a claim on the attempts stream lets only one send this one.
    await until(async () => (await second!.services.webhooks.history(caller, webhook.id, 20))[0]?.status === 'DELIVERED');
    await Promise.all([first.webhooks.sender.tick(), second.webhooks.sender.tick()]);
    expect(receiver.received).toHaveLength(1);
    expect(JSON.parse(receiver.received[0]!.body)).toEqual({
      type: 'KEY_EXPIRING',
      timestamp: new Date(clock.nowMs).toISOString(),
      data: { accountId: caller.accountId, keyId: apiKey.id, expiresAt: apiKey.expiresAt!.toISOString() },
    });
  });

  it('tells the account a key has not been used for unusedAfterDays, once, also after a restart', async () => {
    await first.services.commands.setAccountPolicy(caller, caller.accountId, { unusedAfterDays: 30 });
    const webhook = await watching(['KEY_UNUSED']);
    const { apiKey } = await first.services.commands.create(caller, { name: 'idle', acceptTerms: true });

    clock.nowMs += 29 * DAY_MS;
    expect(await first.webhooks.notices.scan()).toBe(0);
    clock.nowMs += 2 * DAY_MS;
    expect(await first.webhooks.notices.scan()).toBe(1);
    await until(async () => (await first.services.webhooks.history(caller, webhook.id, 20))[0]?.status === 'DELIVERED');
    expect(JSON.parse(receiver.received[0]!.body)).toMatchObject({ type: 'KEY_UNUSED', data: { keyId: apiKey.id, lastUsedAt: null, unusedDays: 31 } });

    await first.stop();
    first = await startCore(store, clock);
    await until(async () => first.webhooks.deliveries.accountsWanting('KEY_UNUSED').has(caller.accountId));
    expect(await first.webhooks.notices.scan()).toBe(0);
    expect(await noticesInLog()).toEqual(['KeyUnusedNoticed']);
  });
});

import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { post } from '../../src/application/webhooks/webhookSender';
import { until } from '../support/apiHelpers';
import { caller, newKey, startCore } from './core';
import { startReceiver } from './receiver';

describe('Webhook deliveries to a real receiver on 127.0.0.1', () => {
  const clock = { nowMs: Date.now() };
  let store: SqliteEventStore;
  let core: Awaited<ReturnType<typeof startCore>>;
  const closers: Array<() => Promise<void>> = [];
  beforeEach(async () => {
    clock.nowMs = Date.now();
    store = new SqliteEventStore(':memory:');
    core = await startCore(store, clock);
  });
  afterEach(async () => {
    await core.stop();
    await Promise.all(closers.splice(0).map((close) => close()));
    await store.dispose();
  });
  const receiver = async (answers?: Array<number | 'hang'>) => {
    const started = await startReceiver(answers);
    closers.push(started.close);
    return started;
  };
  const deliveriesOf = (webhookId: string) => core.services.webhooks.history(caller, webhookId, 20);

  it('POSTs the events the webhook asked for, signed so that the shown secret verifies them (Standard Webhooks), and records them DELIVERED', async () => {
    const target = await receiver([204]);
    const { webhook, signingSecret } = await core.services.webhooks.create(caller, target.url, ['KEY_DISABLED']);
    expect(signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const keyId = await newKey(core, 'watched');
    await core.services.commands.rotate(caller, keyId, 0); // KEY_ROTATED: not asked for
    await core.services.commands.setStatus(caller, keyId, 'DISABLED');
    await until(async () => target.received.length === 1 && (await deliveriesOf(webhook.id))[0]?.status === 'DELIVERED');

    const [request] = target.received;
    const payload = new Webhook(signingSecret).verify(request!.body, request!.headers as Record<string, string>);
    expect(payload).toEqual({ type: 'KEY_DISABLED', timestamp: expect.any(String), data: { accountId: 'acct-hooks', keyId, reason: 'OWNER' } });
    expect(() => new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(request!.body, request!.headers as Record<string, string>)).toThrow();
    expect(await deliveriesOf(webhook.id)).toEqual([
      expect.objectContaining({ id: request!.headers['webhook-id'], kind: 'KEY_DISABLED', status: 'DELIVERED', attempts: 1, lastStatusCode: 204 }),
    ]);
  });

  it('retries a receiver that fails twice with backoff, then it gets the event exactly once more, with the same webhook-id', async () => {
    const target = await receiver([500, 503, 200]);
    const { webhook } = await core.services.webhooks.create(caller, target.url, ['KEY_DELETED']);
    await core.services.commands.delete(caller, await newKey(core, 'doomed'));
    await until(async () => (await deliveriesOf(webhook.id))[0]?.attempts === 1);
    expect(await deliveriesOf(webhook.id)).toEqual([expect.objectContaining({ status: 'PENDING', attempts: 1, lastStatusCode: 500 })]);

    await core.webhooks.sender.tick(); // not due yet: the first retry waits 2.5–5 s
    expect(target.received).toHaveLength(1);
    clock.nowMs += 5_000;
    await core.webhooks.sender.tick();
    expect(target.received).toHaveLength(2);
    await core.webhooks.sender.tick(); // the second retry waits 5–10 s
    expect(target.received).toHaveLength(2);
    clock.nowMs += 10_000;
    await core.webhooks.sender.tick();
    expect(target.received).toHaveLength(3);
    expect(await deliveriesOf(webhook.id)).toEqual([expect.objectContaining({ status: 'DELIVERED', attempts: 3, lastStatusCode: 200 })]);

    clock.nowMs += 86_400_000;
    await core.webhooks.sender.tick();
    expect(target.received).toHaveLength(3);
    expect(new Set(target.received.map((request) => request.headers['webhook-id'])).size).toBe(1);
    const metrics = await core.metrics.text();
    expect(metrics).toContain('keyhub_webhook_delivery_attempts_total{result="retry"} 2');
    expect(metrics).toContain('keyhub_webhook_delivery_attempts_total{result="delivered"} 1');
  });

  it('gives up after the retry window: FAILED, and the webhook is disabled', async () => {
    const target = await receiver([500]);
    const { webhook } = await core.services.webhooks.create(caller, target.url, ['KEY_DELETED']);
    await core.services.commands.delete(caller, await newKey(core, 'never delivered'));
    await until(async () => (await deliveriesOf(webhook.id))[0]?.attempts === 1);
    for (let i = 0; i < 40 && (await deliveriesOf(webhook.id))[0]?.status === 'PENDING'; i += 1) {
      clock.nowMs += 3_600_000;
      await core.webhooks.sender.tick();
    }
    const [delivery] = await deliveriesOf(webhook.id);
    expect(delivery).toMatchObject({ status: 'FAILED', lastStatusCode: 500 });
    expect(delivery!.attempts).toBeGreaterThan(5);
    expect(target.received).toHaveLength(delivery!.attempts);
    await until(async () => (await core.services.webhooks.list(caller))[0]?.enabled === false);
  });

  it('after a restart in the middle of retries: retries what was pending, never resends what was acknowledged, schedules nothing twice', async () => {
    const target = await receiver([204, 500, 500, 204]);
    const { webhook } = await core.services.webhooks.create(caller, target.url, ['KEY_DISABLED', 'KEY_ROTATED']);
    const keyId = await newKey(core, 'across restarts');
    await core.services.commands.setStatus(caller, keyId, 'DISABLED'); // delivered at once (204)
    await until(async () => (await deliveriesOf(webhook.id))[0]?.status === 'DELIVERED');
    await core.services.commands.rotate(caller, keyId, 0); // fails (500)
    await until(async () => (await deliveriesOf(webhook.id))[0]?.attempts === 1 && target.received.length === 2);

    await core.stop();
    clock.nowMs += 60_000;
    core = await startCore(store, clock);
    await until(async () => (await deliveriesOf(webhook.id)).length === 2);
    await core.webhooks.sender.tick(); // the retry that was due: 500 again
    await until(async () => target.received.length === 3);
    clock.nowMs += 60_000;
    await core.webhooks.sender.tick();
    await until(async () => (await deliveriesOf(webhook.id))[0]?.status === 'DELIVERED');

    const ids = target.received.map((request) => request.headers['webhook-id']);
    expect(ids).toHaveLength(4);
    expect(ids.filter((id) => id === ids[0])).toHaveLength(1); // the acknowledged KEY_DISABLED: never again
    expect(new Set(ids.slice(1)).size).toBe(1); // the KEY_ROTATED delivery, three attempts
    expect((await deliveriesOf(webhook.id)).map((delivery) => [delivery.kind, delivery.status, delivery.attempts])).toEqual([
      ['KEY_ROTATED', 'DELIVERED', 3],
      ['KEY_DISABLED', 'DELIVERED', 1],
    ]);
  });

  it('bounds each attempt with a timeout, and a receiver that never answers does not hold back another webhook\'s deliveries', async () => {
    await core.stop();
    core = await startCore(store, clock, { WEBHOOK_TIMEOUT_MS: '300' });
    const slow = await receiver(['hang']);
    const fast = await receiver([204]);
    const slowHook = (await core.services.webhooks.create(caller, slow.url, ['KEY_DELETED'])).webhook;
    const fastHook = (await core.services.webhooks.create(caller, fast.url, ['KEY_DELETED'])).webhook;
    await core.services.commands.delete(caller, await newKey(core, 'told twice'));
    await until(async () => (await deliveriesOf(fastHook.id))[0]?.status === 'DELIVERED');
    expect(slow.received).toHaveLength(1); // still waiting for its answer meanwhile
    await until(async () => (await deliveriesOf(slowHook.id))[0]?.attempts === 1);
    expect(await deliveriesOf(slowHook.id)).toEqual([expect.objectContaining({ status: 'PENDING', lastStatusCode: null })]);
  });

  it('delivers only to webhooks registered before the event, and none after the webhook is deleted', async () => {
    const target = await receiver([204]);
    const keyId = await newKey(core, 'before the webhook');
    await core.services.commands.setStatus(caller, keyId, 'DISABLED');
    const { webhook } = await core.services.webhooks.create(caller, target.url, ['KEY_DISABLED', 'KEY_DELETED']);
    await core.services.commands.setStatus(caller, keyId, 'ENABLED');
    await core.services.commands.setStatus(caller, keyId, 'DISABLED');
    await until(async () => (await deliveriesOf(webhook.id))[0]?.status === 'DELIVERED');
    const marker = await receiver([204]);
    const markerHook = (await core.services.webhooks.create(caller, marker.url, ['KEY_DELETED'])).webhook;
    await core.services.webhooks.delete(caller, webhook.id);
    await core.services.commands.delete(caller, keyId);
    // The outbox works in log order: once the marker has the deletion, the deleted webhook's turn for it has passed.
    await until(async () => (await deliveriesOf(markerHook.id))[0]?.status === 'DELIVERED');
    await core.webhooks.sender.tick();
    expect(target.received).toHaveLength(1);
    expect(JSON.parse(target.received[0]!.body)).toMatchObject({ type: 'KEY_DISABLED' });
  });
});

describe('The sender in production (SSRF guard)', () => {
  it('does not connect to loopback or private addresses, by name (resolved, then checked) or literally', async () => {
    const target = await startReceiver([204]);
    try {
      for (const url of [target.url, `http://localhost:${target.port}/`, `http://[::ffff:127.0.0.1]:${target.port}/`]) {
        expect(await post(url, '{}', {}, { timeoutMs: 1000, production: true })).toEqual({ error: 'blocked: not a public address' });
      }
      expect(target.received).toHaveLength(0);
      expect(await post(target.url, '{}', {}, { timeoutMs: 1000, production: false })).toEqual({ statusCode: 204 });
    } finally {
      await target.close();
    }
  });
});

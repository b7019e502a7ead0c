import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { measuredEventStore, projectionLag } from '../../src/observability/instrument';
import { KeyhubMetrics } from '../../src/observability/metrics';
import { WrongExpectedVersionError, jsonEvent } from '../../src/ports/eventStore';
import { connected, gql, subscribe, tokenFor, wsClient } from '../support/graphqlClient';
import { API_KEY_EVENTS, CREATE, VERIFY } from '../support/operations';
import { startInProcessKeyhub } from '../http/inProcessKeyhub';

/** One sample's value from Prometheus's text format: `name{a="1",b="2"} value`, labels in any order. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) return Number(match[3]);
  }
  return undefined;
}

const scrape = async (url: string, headers: Record<string, string> = {}) => {
  const response = await fetch(url, { headers });
  return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
};

describe('GET /metrics', () => {
  describe('after known traffic', () => {
    let keyhub: Awaited<ReturnType<typeof startInProcessKeyhub>>;
    beforeAll(async () => {
      keyhub = await startInProcessKeyhub();
    });
    afterAll(async () => keyhub.stop());

    it('counts verifications by path and outcome, GraphQL operations by root field and code, cache lookups, appends, and reports no lag', async () => {
      const owner = await tokenFor({ sub: 'metrics-owner', account: 'acct-metrics' });
      const gateway = await tokenFor({ sub: 'gw', account: 'acct-metrics', roles: ['gateway'] });
      const created = await gql(keyhub.url, owner, CREATE, { input: { name: 'measured', acceptTerms: true } });
      const secret = created.data.createApiKey.secret as string;
      const refused = await gql(keyhub.url, owner, CREATE, { input: { name: '', acceptTerms: true } });
      expect(refused.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      // The key's creation: its account slot and its stream; the refused create wrote nothing. (Later, key uses are appended on a timer.)
      expect(sample((await scrape(`${keyhub.baseUrl}/metrics`)).text, 'keyhub_eventstore_append_duration_seconds_count')).toBe(2);

      const auth = (key: string) => fetch(`${keyhub.baseUrl}/auth`, { headers: { authorization: `Bearer ${key}` } });
      expect((await auth(secret)).status).toBe(200); // a miss: read from the read model, then cached
      expect((await auth(secret)).status).toBe(200); // a hit
      expect((await auth('sk-not-a-key')).status).toBe(401); // MALFORMED: no lookup at all
      expect((await gql(keyhub.url, gateway, VERIFY, { key: secret })).data.verifyApiKey.valid).toBe(true); // a hit

      const { status, type, text } = await scrape(`${keyhub.baseUrl}/metrics`);
      expect(status).toBe(200);
      expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(sample(text, 'keyhub_verifications_total', { path: 'auth', outcome: 'VALID' })).toBe(2);
      expect(sample(text, 'keyhub_verifications_total', { path: 'auth', outcome: 'MALFORMED' })).toBe(1);
      expect(sample(text, 'keyhub_verifications_total', { path: 'graphql', outcome: 'VALID' })).toBe(1);
      expect(sample(text, 'keyhub_verification_duration_seconds_count', { path: 'auth' })).toBe(3);
      expect(sample(text, 'keyhub_verification_duration_seconds_count', { path: 'graphql' })).toBe(1);
      expect(sample(text, 'keyhub_verification_cache_lookups_total', { result: 'miss' })).toBe(1);
      expect(sample(text, 'keyhub_verification_cache_lookups_total', { result: 'hit' })).toBe(2);
      expect(sample(text, 'keyhub_verification_cache_entries')).toBe(1);
      expect(sample(text, 'keyhub_graphql_operations_total', { type: 'mutation', operation: 'createApiKey', code: 'OK' })).toBe(1);
      expect(sample(text, 'keyhub_graphql_operations_total', { type: 'mutation', operation: 'createApiKey', code: 'BAD_USER_INPUT' })).toBe(1);
      expect(sample(text, 'keyhub_graphql_operations_total', { type: 'query', operation: 'verifyApiKey', code: 'OK' })).toBe(1);
      expect(sample(text, 'keyhub_graphql_operation_duration_seconds_count', { type: 'mutation' })).toBe(2);
      expect(sample(text, 'keyhub_projection_healthy', { projection: 'read-model' })).toBe(1);
      // Key uses are appended on a timer: a scrape may fall between such an append and its projection, never stay behind.
      let lagged = text;
      for (let i = 0; i < 100 && sample(lagged, 'keyhub_projection_lag_events', { projection: 'read-model' }) !== 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        lagged = (await scrape(`${keyhub.baseUrl}/metrics`)).text;
      }
      expect(sample(lagged, 'keyhub_projection_lag_events', { projection: 'read-model' })).toBe(0);
      expect(sample(lagged, 'keyhub_projection_lag_seconds', { projection: 'read-model' })).toBe(0);
      expect(sample(text, 'keyhub_process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(sample(text, 'keyhub_nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    });

    it('gauges open graphql-ws connections and their subscriptions', async () => {
      const client = wsClient(keyhub.wsUrl, await tokenFor({ sub: 'watcher', account: 'acct-metrics' }));
      const ready = connected(client);
      const feed = subscribe(client, API_KEY_EVENTS);
      await ready;
      // The subscription is registered once the server answered the connection; wait until the gauge sees it.
      let text = '';
      for (let i = 0; i < 50 && sample(text, 'keyhub_websocket_subscriptions') !== 1; i += 1) {
        text = (await scrape(`${keyhub.baseUrl}/metrics`)).text;
        if (sample(text, 'keyhub_websocket_subscriptions') !== 1) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(sample(text, 'keyhub_websocket_connections')).toBe(1);
      expect(sample(text, 'keyhub_websocket_subscriptions')).toBe(1);
      feed.dispose();
      await client.dispose();
      for (let i = 0; i < 50 && sample(text, 'keyhub_websocket_connections') !== 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        text = (await scrape(`${keyhub.baseUrl}/metrics`)).text;
      }
      expect(sample(text, 'keyhub_websocket_connections')).toBe(0);
      expect(sample(text, 'keyhub_websocket_subscriptions')).toBe(0);
    });
  });

  describe('guarded', () => {
    it('with METRICS_TOKEN: refuses a scrape without it (401) and answers one with it', async () => {
      const keyhub = await startInProcessKeyhub({ METRICS_TOKEN: 'a-metrics-token-of-some-length' });
      try {
        expect((await scrape(`${keyhub.baseUrl}/metrics`)).status).toBe(401);
        expect((await scrape(`${keyhub.baseUrl}/metrics`, { authorization: 'Bearer wrong-token-of-some-length' })).status).toBe(401);
        const allowed = await scrape(`${keyhub.baseUrl}/metrics`, { authorization: 'Bearer a-metrics-token-of-some-length' });
        expect(allowed.status).toBe(200);
        expect(allowed.text).toContain('keyhub_verifications_total');
      } finally {
        await keyhub.stop();
      }
    });

    it('in production without METRICS_TOKEN: not served on the main port', async () => {
      const keyhub = await startInProcessKeyhub({ NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true' });
      try {
        expect((await scrape(`${keyhub.baseUrl}/metrics`)).status).toBe(404);
      } finally {
        await keyhub.stop();
      }
    });

    it('with METRICS_PORT: served on a listener of its own, and not on the main port', async () => {
      const keyhub = await startInProcessKeyhub({ NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true', METRICS_PORT: '0' });
      try {
        expect(keyhub.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
        expect((await scrape(keyhub.metricsUrl as string)).status).toBe(200);
        expect((await scrape(`${keyhub.baseUrl}/metrics`)).status).toBe(404);
        expect((await scrape((keyhub.metricsUrl as string).replace('/metrics', '/graphql'))).status).toBe(404);
      } finally {
        await keyhub.stop();
      }
    });
  });
});

describe('Event-store metrics', () => {
  it('times every append and counts failures by reason', async () => {
    const metrics = new KeyhubMetrics({ processMetrics: false });
    const store = measuredEventStore(new SqliteEventStore(':memory:'), metrics);
    await store.appendToStream('apiKey-1', [jsonEvent({ type: 'A', data: {} })], { expectedRevision: 'no_stream' });
    await expect(store.appendToStream('apiKey-1', [jsonEvent({ type: 'B', data: {} })], { expectedRevision: 'no_stream' })).rejects.toBeInstanceOf(WrongExpectedVersionError);
    const text = await metrics.text();
    expect(sample(text, 'keyhub_eventstore_append_duration_seconds_count')).toBe(2);
    expect(sample(text, 'keyhub_eventstore_append_failures_total', { reason: 'conflict' })).toBe(1);
    await store.dispose();
  });

  it('measures a projection\'s lag: our events after its checkpoint, and the age of the oldest', async () => {
    const store = new SqliteEventStore(':memory:');
    const first = await store.appendToStream('apiKey-1', [jsonEvent({ type: 'A', data: {} })]);
    await store.appendToStream('otherApp-1', [jsonEvent({ type: 'X', data: {} })]);
    await store.appendToStream('apiKey-2', [jsonEvent({ type: 'B', data: {} }), jsonEvent({ type: 'C', data: {} })]);
    const created: Date[] = [];
    for await (const resolved of store.readStream('apiKey-2')) if (resolved.event) created.push(resolved.event.created);
    const nowMs = (created[0] as Date).getTime() + 30_000;
    expect(await projectionLag(store, first.position ?? null, ['apiKey-'], nowMs)).toEqual({ events: 2, seconds: 30 });
    expect(await projectionLag(store, null, ['apiKey-'], nowMs)).toMatchObject({ events: 3 });
    await store.dispose();
  });
});

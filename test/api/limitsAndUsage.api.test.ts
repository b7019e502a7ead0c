import { randomBytes, randomUUID } from 'node:crypto';
import pino from 'pino';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { COLLECTIONS } from '../../src/readModel/documents';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import { clientFor } from '../support/graphqlClient';
import { TEST_JWT_SECRET } from '../support/keyhubProcess';
import { inProcessEngines } from '../adapters/serviceHarness';
import { until } from '../support/apiHelpers';

type Client = Awaited<ReturnType<typeof clientFor>>;

const GATEWAY_TOKEN = 'a-shared-gateway-token-for-tests';
// No timer flush during a test (60 s): each test flushes when it means to, so counts are exact.
const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: '/nonexistent-never-written', LOG_LEVEL: 'silent', USAGE_FLUSH_MS: '60000', FORWARD_AUTH_TOKEN: GATEWAY_TOKEN });

const LIMITS = 'limits { requestsPerMinute requestsPerDay tokensPerMinute tokensPerDay tokensPerMonth }';
const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id version metadata ${LIMITS} } } }`;
const VERIFY = 'query($key: String!, $model: String, $service: String) { verifyApiKey(key: $key, model: $model, service: $service) { valid reason keyId retryAfterSeconds metadata } }';
const UPDATE_LIMITS = `mutation($id: ID!, $limits: KeyLimitsInput!, $v: Int) { updateKeyLimits(id: $id, limits: $limits, expectedVersion: $v) { version ${LIMITS} } }`;
const UPDATE_METADATA = 'mutation($id: ID!, $metadata: JSON) { updateKeyMetadata(id: $id, metadata: $metadata) { version metadata } }';
const RECORD = 'mutation($entries: [TokenUsageInput!]!) { recordTokenUsage(entries: $entries) }';
const USAGE = 'query($id: ID!, $from: DateTime!, $to: DateTime!, $g: UsageGranularity) { apiKeyUsage(id: $id, from: $from, to: $to, granularity: $g) { start requests denied deniedByReason promptTokens completionTokens } }';
const GET = `query($id: ID!, $asOf: DateTime) { apiKey(id: $id, asOf: $asOf) { version metadata ${LIMITS} } }`;
const HISTORY = 'query($id: ID!) { apiKeyHistory(id: $id) { type version data } }';

/** A clock the test moves: windows, retry-after and report ages are computed from it. */
const testClock = (start: string) => {
  let now = Date.parse(start);
  return { environment: { clock: () => new Date(now), newId: randomUUID, randomBytes }, set: (at: string) => (now = Date.parse(at)), advance: (ms: number) => (now += ms) };
};

async function started(store: SqliteEventStore, clock: ReturnType<typeof testClock>): Promise<Keyhub> {
  return startKeyhub(config, pino({ level: 'silent' }), inProcessEngines(store, { dispose: async () => undefined }), clock.environment);
}

describe('Per-key limits, usage and metadata', () => {
  const store = new SqliteEventStore(':memory:');
  const clock = testClock('2026-11-25T08:00:10.000Z');
  let keyhub: Keyhub;
  let owner: Client;
  let gateway: Client;
  const create = async (input: Record<string, unknown> = {}) =>
    (await owner.call(CREATE, { input: { name: 'limited key', acceptTerms: true, ...input } })).createApiKey as { secret: string; apiKey: { id: string; version: number } };
  const verify = async (key: string, extra: Record<string, unknown> = {}) => (await gateway.call(VERIFY, { key, ...extra })).verifyApiKey;
  const auth = (secret: string) => fetch(new URL('/auth', keyhub.url), { headers: { authorization: `Bearer ${secret}`, 'x-gateway-token': GATEWAY_TOKEN } });

  beforeAll(async () => {
    keyhub = await started(store, clock);
    owner = await clientFor(keyhub.url, { sub: 'owner', account: `acct-${randomUUID()}` });
    gateway = await clientFor(keyhub.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
  });
  afterAll(async () => {
    await keyhub.stop();
    store.dispose();
  });
  beforeEach(() => clock.set('2026-11-25T08:00:10.000Z'));

  it('answers N valid and then RATE_LIMITED with the seconds left in the minute for N+1 concurrent verifications, and valid again in the next minute', async () => {
    const { secret } = await create({ limits: { requestsPerMinute: 5 } });
    const answers = await Promise.all(Array.from({ length: 6 }, () => verify(secret)));
    expect(answers.filter((answer) => answer.valid)).toHaveLength(5);
    expect(answers.filter((answer) => !answer.valid)).toEqual([expect.objectContaining({ reason: 'RATE_LIMITED', retryAfterSeconds: 50, metadata: null })]);
    clock.advance(49_000);
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'RATE_LIMITED', retryAfterSeconds: 1 });
    clock.advance(1_000);
    expect(await verify(secret)).toMatchObject({ valid: true, retryAfterSeconds: null });
  });

  it('answers /auth over a limit with 429 and Retry-After, and counts only valid uses', async () => {
    const { secret } = await create({ limits: { requestsPerDay: 2 }, scope: { mode: 'RESTRICTED', models: ['qwen-max'] } });
    // Denials (here out of scope) do not count toward the limit.
    for (let i = 0; i < 3; i += 1) expect(await verify(secret, { model: 'gpt-4o' })).toMatchObject({ reason: 'SCOPE_DENIED' });
    expect((await auth(secret)).status).toBe(403); // no model named: a RESTRICTED key allows nothing
    for (let i = 0; i < 2; i += 1) expect(await verify(secret, { model: 'qwen-max' })).toMatchObject({ valid: true });
    const response = await fetch(new URL('/auth', keyhub.url), { headers: { authorization: `Bearer ${secret}`, 'x-gateway-token': GATEWAY_TOKEN, 'x-model': 'qwen-max' } });
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe(String(16 * 3600 - 10));
    expect(response.headers.get('x-auth-failure')).toBe('RATE_LIMITED');
    expect(await response.json()).toEqual({ valid: false, reason: 'RATE_LIMITED', retryAfterSeconds: 16 * 3600 - 10 });
  });

  it('applies a limits change to the very next verification, as a lifecycle event in history and asOf', async () => {
    const { secret, apiKey } = await create();
    for (let i = 0; i < 3; i += 1) expect(await verify(secret)).toMatchObject({ valid: true });
    const before = clock.environment.clock().toISOString();
    clock.advance(1000);
    const updated = (await owner.call(UPDATE_LIMITS, { id: apiKey.id, limits: { requestsPerMinute: 3 }, v: 1 })).updateKeyLimits;
    expect(updated).toEqual({ version: 2, limits: { requestsPerMinute: 3, requestsPerDay: null, tokensPerMinute: null, tokensPerDay: null, tokensPerMonth: null } });
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'RATE_LIMITED' });
    expect((await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory.map((event: { type: string }) => event.type)).toEqual(['ApiKeyCreated', 'ApiKeyLimitsUpdated']);
    expect((await owner.call(GET, { id: apiKey.id, asOf: before })).apiKey.limits.requestsPerMinute).toBeNull();
    // Setting the same limits again is no change: no event, no version.
    expect((await owner.call(UPDATE_LIMITS, { id: apiKey.id, limits: { requestsPerMinute: 3 } })).updateKeyLimits.version).toBe(2);
  });

  it('refuses limits below 1 with the offending field, and changes nothing', async () => {
    const { apiKey } = await create();
    const refused = await owner.raw(UPDATE_LIMITS, { id: apiKey.id, limits: { tokensPerDay: 0 } });
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limits.tokensPerDay' });
    expect((await owner.call(GET, { id: apiKey.id })).apiKey.version).toBe(1);
    const badCreate = await owner.raw(CREATE, { input: { name: 'bad', acceptTerms: true, limits: { requestsPerMinute: -5 } } });
    expect(badCreate.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'limits.requestsPerMinute' });
  });

  it('answers QUOTA_EXHAUSTED once reported tokens reach a limit, until the window frees up; unknown keys are counted as rejected and old reports refused', async () => {
    const { secret, apiKey } = await create({ limits: { tokensPerDay: 100 } });
    expect(await gateway.call(RECORD, { entries: [{ keyId: apiKey.id, promptTokens: 40, completionTokens: 20 }, { keyId: 'no-such-key', promptTokens: 1, completionTokens: 1 }] })).toEqual({ recordTokenUsage: 1 });
    expect(await verify(secret)).toMatchObject({ valid: true });
    expect(await gateway.call(RECORD, { entries: [{ keyId: apiKey.id, model: 'qwen-max', promptTokens: 30, completionTokens: 10, at: '2026-11-25T07:30:00.000Z' }] })).toEqual({ recordTokenUsage: 1 });
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'QUOTA_EXHAUSTED', retryAfterSeconds: 16 * 3600 - 10 });
    const old = await gateway.raw(RECORD, { entries: [{ keyId: apiKey.id, promptTokens: 1, completionTokens: 0 }, { keyId: apiKey.id, promptTokens: 1, completionTokens: 0, at: '2026-11-25T07:00:09.000Z' }] });
    expect(old.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'entries[1].at' });
    expect((await owner.raw(RECORD, { entries: [] })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    clock.set('2026-11-26T00:00:00.000Z');
    expect(await verify(secret)).toMatchObject({ valid: true });
  });

  it('takes token reports on POST /usage for gateways that do not speak GraphQL, guarded like /auth', async () => {
    const { secret, apiKey } = await create({ limits: { tokensPerMinute: 10 } });
    const post = (body: unknown, token = GATEWAY_TOKEN) =>
      fetch(new URL('/usage', keyhub.url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-gateway-token': token }, body: JSON.stringify(body) });
    expect((await post({ entries: [] }, 'wrong-token-wrong-token')).status).toBe(401);
    const bad = await post({ entries: [{ keyId: apiKey.id, promptTokens: -1, completionTokens: 0 }] });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'BAD_USER_INPUT', field: 'entries[0].promptTokens' });
    const ok = await post({ entries: [{ keyId: apiKey.id, promptTokens: 6, completionTokens: 4, at: '2026-11-25T08:00:05.000Z' }, { keyId: 'gone', promptTokens: 1, completionTokens: 1 }] });
    expect(await ok.json()).toEqual({ recorded: 1, rejected: 1 });
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'QUOTA_EXHAUSTED', retryAfterSeconds: 50 });
  });

  it('returns the metadata with a valid verification and in X-Key-Metadata from /auth, and refuses more than 1 KB', async () => {
    const metadata = { team: 'search', plan: 'pro', env: 'prod' };
    const { secret, apiKey } = await create({ metadata });
    expect(await verify(secret)).toMatchObject({ valid: true, metadata });
    const response = await auth(secret);
    expect(response.status).toBe(200);
    expect(JSON.parse(decodeURIComponent(response.headers.get('x-key-metadata') ?? ''))).toEqual(metadata);
    expect((await owner.call(UPDATE_METADATA, { id: apiKey.id, metadata: { team: 'ads' } })).updateKeyMetadata).toEqual({ version: 2, metadata: { team: 'ads' } });
    expect(await verify(secret)).toMatchObject({ metadata: { team: 'ads' } });
    const tooLarge = await owner.raw(UPDATE_METADATA, { id: apiKey.id, metadata: { note: 'x'.repeat(1020) } });
    expect(tooLarge.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'metadata' });
    expect((await owner.call(UPDATE_METADATA, { id: apiKey.id, metadata: null })).updateKeyMetadata).toEqual({ version: 3, metadata: null });
    const cleared = await auth(secret);
    expect(cleared.headers.get('x-key-metadata')).toBeNull();
  });

  it('allows a RESTRICTED key a call naming only one listed kind (models [qwen-max], services [chat])', async () => {
    const { secret } = await create({ scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: ['chat'] } });
    expect(await verify(secret, { model: 'qwen-max' })).toMatchObject({ valid: true });
    expect(await verify(secret, { service: 'chat' })).toMatchObject({ valid: true });
    expect(await verify(secret, { model: 'qwen-max', service: 'embeddings' })).toMatchObject({ valid: false, reason: 'SCOPE_DENIED' });
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'SCOPE_DENIED' });
    const viaAuth = await fetch(new URL('/auth', keyhub.url), { headers: { authorization: `Bearer ${secret}`, 'x-gateway-token': GATEWAY_TOKEN, 'x-model': 'qwen-max' } });
    expect(viaAuth.status).toBe(200);
  });

  it('reports usage buckets that equal the counts of a known sequence exactly', async () => {
    const { secret, apiKey } = await create({ limits: { requestsPerMinute: 3 }, scope: { mode: 'RESTRICTED', models: ['qwen-max'] } });
    for (let i = 0; i < 4; i += 1) await verify(secret, { model: 'qwen-max' }); // 3 valid, 1 RATE_LIMITED
    await verify(secret, { model: 'gpt-4o' }); // SCOPE_DENIED
    await gateway.call(RECORD, { entries: [{ keyId: apiKey.id, promptTokens: 12, completionTokens: 7 }] });
    clock.set('2026-11-25T09:15:00.000Z');
    await verify(secret, { model: 'qwen-max' });
    await keyhub.core.usage.flush();
    const usage = async (g: string, from: string, to: string) => (await owner.call(USAGE, { id: apiKey.id, from, to, g })).apiKeyUsage;
    await until(async () => (await usage('DAY', '2026-11-25T00:00:00.000Z', '2026-11-26T00:00:00.000Z'))[0].requests === 4);
    expect(await usage('HOUR', '2026-11-25T08:00:00.000Z', '2026-11-25T10:00:00.000Z')).toEqual([
      { start: '2026-11-25T08:00:00.000Z', requests: 3, denied: 2, deniedByReason: { RATE_LIMITED: 1, SCOPE_DENIED: 1 }, promptTokens: 12, completionTokens: 7 },
      { start: '2026-11-25T09:00:00.000Z', requests: 1, denied: 0, deniedByReason: {}, promptTokens: 0, completionTokens: 0 },
    ]);
    const minutes = await usage('MINUTE', '2026-11-25T08:00:00.000Z', '2026-11-25T08:02:00.000Z');
    expect(minutes.map((bucket: { requests: number }) => bucket.requests)).toEqual([3, 0]);
    const tooMany = await owner.raw(USAGE, { id: apiKey.id, from: '2026-11-01T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z', g: 'MINUTE' });
    expect(tooMany.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    const stranger = await clientFor(keyhub.url, { sub: 'eve', account: 'acct-other' });
    expect((await stranger.raw(USAGE, { id: apiKey.id, from: '2026-11-25T08:00:00.000Z', to: '2026-11-25T09:00:00.000Z' })).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});

describe('Limits across restarts and instances on one log', () => {
  const clock = testClock('2026-11-25T08:00:10.000Z');
  const LIMIT = 10;

  it('keeps usage over a restart: a key that used its daily limit stays limited on the restarted instance', async () => {
    const store = new SqliteEventStore(':memory:');
    const first = await started(store, clock);
    const owner = await clientFor(first.url, { sub: 'owner', account: 'acct-restart' });
    const { secret, apiKey } = (await owner.call(CREATE, { input: { name: 'restart', acceptTerms: true, limits: { requestsPerDay: 3 } } })).createApiKey;
    let gateway = await clientFor(first.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
    for (let i = 0; i < 3; i += 1) expect((await gateway.call(VERIFY, { key: secret })).verifyApiKey.valid).toBe(true);
    await first.stop(); // writes what is pending
    const second = await started(store, clock);
    try {
      gateway = await clientFor(second.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
      expect((await gateway.call(VERIFY, { key: secret })).verifyApiKey).toMatchObject({ valid: false, reason: 'RATE_LIMITED' });
      const again = await clientFor(second.url, { sub: 'owner', account: 'acct-restart' });
      const [day] = (await again.call(USAGE, { id: apiKey.id, from: '2026-11-25T00:00:00.000Z', to: '2026-11-26T00:00:00.000Z', g: 'DAY' })).apiKeyUsage;
      expect(day).toMatchObject({ requests: 3, denied: 0 });
    } finally {
      await second.stop();
      store.dispose();
    }
  });

  it('keeps usage over a restart on a read model that outlives the instance (as MongoDB does): the current windows are read back from the usage buckets', async () => {
    const store = new SqliteEventStore(':memory:');
    const readModel = new InProcessDatabase();
    const engines = async () => ({ store, readModel, names: { eventStore: 'test log', readModel: 'kept' }, external: false, probe: async () => undefined, close: async () => undefined });
    const start = () => startKeyhub(config, pino({ level: 'silent' }), engines, clock.environment);
    const first = await start();
    const owner = await clientFor(first.url, { sub: 'owner', account: 'acct-kept' });
    const { secret, apiKey } = (await owner.call(CREATE, { input: { name: 'kept', acceptTerms: true, limits: { requestsPerDay: 4, tokensPerMonth: 50 } } })).createApiKey;
    const gateway = await clientFor(first.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
    for (let i = 0; i < 3; i += 1) expect((await gateway.call(VERIFY, { key: secret })).verifyApiKey.valid).toBe(true);
    clock.set('2026-11-03T10:00:00.000Z'); // earlier this month: counts toward the month only
    await first.core.usage.recordTokens(apiKey.id, 'acct-kept', clock.environment.clock().getTime(), 30, 20);
    clock.set('2026-11-25T08:00:10.000Z');
    await first.core.usage.flush();
    await until(async () => (await readModel.collection(COLLECTIONS.usage).countDocuments({ keyId: apiKey.id, granularity: 'DAY' })) === 2);
    await first.stop();
    const second = await start();
    try {
      expect(second.core.usage.countsOf(apiKey.id)).toMatchObject({ dayRequests: 3, monthTokens: 50 });
      const again = await clientFor(second.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
      expect((await again.call(VERIFY, { key: secret })).verifyApiKey).toMatchObject({ valid: false, reason: 'QUOTA_EXHAUSTED' });
    } finally {
      await second.stop();
      store.dispose();
    }
  });

  it("overshoots by at most the other instance's unflushed uses, and enforces the limit exactly once flushed counts have arrived", async () => {
    const store = new SqliteEventStore(':memory:');
    const a = await started(store, clock);
    const b = await started(store, clock);
    try {
      const owner = await clientFor(a.url, { sub: 'owner', account: 'acct-two' });
      const { secret, apiKey } = (await owner.call(CREATE, { input: { name: 'two', acceptTerms: true, limits: { requestsPerDay: LIMIT } } })).createApiKey;
      const gwA = await clientFor(a.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
      const gwB = await clientFor(b.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
      const admitted = async (client: Client, n: number) => (await Promise.all(Array.from({ length: n }, () => client.call(VERIFY, { key: secret })))).filter((r) => r.verifyApiKey.valid).length;
      const unflushedAtA = await admitted(gwA, 6);
      // B has not seen A's uses yet: it admits up to the whole limit; the overshoot equals A's unflushed uses.
      const atB = await admitted(gwB, LIMIT + 5);
      expect(unflushedAtA).toBe(6);
      expect(atB).toBe(LIMIT);
      expect(unflushedAtA + atB - LIMIT).toBeLessThanOrEqual(unflushedAtA);
      await a.core.usage.flush();
      await b.core.usage.flush();
      await until(async () => a.core.usage.countsOf(apiKey.id)?.dayRequests === 16 && b.core.usage.countsOf(apiKey.id)?.dayRequests === 16);
      expect(await admitted(gwA, 3)).toBe(0);
      expect(await admitted(gwB, 3)).toBe(0);
    } finally {
      await a.stop();
      await b.stop();
      store.dispose();
    }
  });

  it('stays within the limit when the instances flush before the other verifies (the bound is the flush interval)', async () => {
    const store = new SqliteEventStore(':memory:');
    const a = await started(store, clock);
    const b = await started(store, clock);
    try {
      const owner = await clientFor(a.url, { sub: 'owner', account: 'acct-lockstep' });
      const { secret, apiKey } = (await owner.call(CREATE, { input: { name: 'lockstep', acceptTerms: true, limits: { requestsPerDay: LIMIT } } })).createApiKey;
      const gateways = [await clientFor(a.url, { sub: 'gw', account: 'platform', roles: ['gateway'] }), await clientFor(b.url, { sub: 'gw', account: 'platform', roles: ['gateway'] })];
      const instances = [a, b];
      let valid = 0;
      for (let i = 0; i < 2 * LIMIT; i += 1) {
        const turn = i % 2;
        if ((await (gateways[turn] as Client).call(VERIFY, { key: secret })).verifyApiKey.valid) valid += 1;
        await (instances[turn] as Keyhub).core.usage.flush();
        const seen = valid;
        await until(async () => (instances[1 - turn] as Keyhub).core.usage.countsOf(apiKey.id)?.dayRequests === seen);
      }
      expect(valid).toBe(LIMIT);
    } finally {
      await a.stop();
      await b.stop();
      store.dispose();
    }
  });
});

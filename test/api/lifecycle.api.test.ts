import { randomUUID } from 'node:crypto';
import type { Client } from '../support/apiHelpers';
import { createKey as create, newGateway, newOwner as ownerOf, until, verifyKey } from '../support/apiHelpers';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { expectError, expectNewEvents, expectNoNewEvents, expectResponse, existingStream, startApiSpecification } from '../support/apiSpecification';
import { apiKeyCreated } from '../support/eventFixtures';
import { apiKeyStream } from '../../src/eventLog/streams';
import { VERIFY as VERIFY_VALID, DELETE, DESCRIBE, GET, HISTORY, LIST, QUOTA, RENAME, SET_STATUS, UPDATE_SCOPE } from '../support/operations';

describe('API key lifecycle over HTTP', () => {
  let api: KeyhubSpecification;
  let owner: Client;
  let gateway: Client;
  const newOwner = () => ownerOf(api.url);
  const verify = (key: string, request: Record<string, unknown> = {}) => verifyKey(gateway, key, request);
  const at = (ms: number) => new Date(ms).toISOString();

  beforeAll(async () => {
    api = await startApiSpecification({ env: { DEFAULT_REGION: 'cn-hangzhou', USAGE_FLUSH_MS: '250' } });
    gateway = await newGateway(api.url);
  });
  beforeEach(async () => {
    owner = await newOwner();
  });
  afterAll(async () => {
    await api.stop();
  });

  it('creates a key with every option, shows the secret once, and lists it masked', async () => {
    const { secret, apiKey } = await create(owner, {
      name: '生产 环境-1',
      description: 'batch jobs',
      region: 'us-east-1',
      scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: ['chat'] },
      ipAllowlist: ['10.1.2.3/8', '2001:DB8::1'],
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
    expect(secret).toMatch(/^sk-[0-9A-Za-z]{49}$/);
    expect(apiKey).toMatchObject({
      accountId: owner.identity.account,
      name: '生产 环境-1',
      description: 'batch jobs',
      region: 'us-east-1',
      maskedKey: `${secret.slice(0, 5)}***${secret.slice(-4)}`,
      status: 'ENABLED',
      scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: ['chat'] },
      ipAllowlist: ['10.0.0.0/8', '2001:db8::1'],
      lastUsedAt: null,
      expiresAt: '2030-01-01T00:00:00.000Z',
      version: 1,
    });
    expect(apiKey.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const { apiKeys } = await owner.call(LIST);
    expect(apiKeys.totalCount).toBe(1);
    expect(apiKeys.nodes).toEqual([apiKey]);
    expect(JSON.stringify(apiKeys)).not.toContain(secret);
    expect(JSON.stringify((await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory)).not.toContain(secret);
  });

  it('defaults the region to DEFAULT_REGION and the scope to ALL', async () => {
    const { apiKey } = await create(owner);
    expect(apiKey).toMatchObject({ region: 'cn-hangzhou', scope: { mode: 'ALL', models: [], services: [] }, ipAllowlist: [], expiresAt: null });
  });

  it('renames a key already in the log: one ApiKeyRenamed with the previous name, answered with the new version', async () => {
    const keyId = randomUUID();
    const occurredAt = api.clock.now().toISOString();
    await api
      .given(existingStream(apiKeyStream(keyId), [apiKeyCreated({ keyId, accountId: owner.identity.account, occurredAt })]))
      .when(api.graphql(owner.token, RENAME, { id: keyId, name: 'staging', v: 1 }))
      .then(
        expectResponse({ status: 200, data: { renameApiKey: { id: keyId, name: 'staging', version: 2 } } }),
        expectNewEvents(apiKeyStream(keyId), [{ type: 'ApiKeyRenamed', data: { keyId, name: 'staging', previousName: 'prod backend' } }]),
      );
  });

  it('answers a stale expectedVersion with CONFLICT and appends nothing', async () => {
    const keyId = randomUUID();
    await api
      .given(existingStream(apiKeyStream(keyId), [apiKeyCreated({ keyId, accountId: owner.identity.account, occurredAt: api.clock.now().toISOString() })]))
      .when(api.graphql(owner.token, RENAME, { id: keyId, name: 'staging', v: 2 }))
      .then(expectError('CONFLICT'), expectNoNewEvents());
  });

  it('renames, describes, disables and enables, each visible at once and counted as a version', async () => {
    const { apiKey, secret } = await create(owner);
    const renamed = (await owner.call(RENAME, { id: apiKey.id, name: 'staging', v: 1 })).renameApiKey;
    expect(renamed).toMatchObject({ name: 'staging', version: 2 });
    const described = (await owner.call(DESCRIBE, { id: apiKey.id, d: 'for tests' })).updateDescription;
    expect(described).toMatchObject({ description: 'for tests', version: 3 });
    expect(Date.parse(described.updatedAt)).toBeGreaterThanOrEqual(Date.parse(apiKey.createdAt));

    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED', v: 3 });
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'DISABLED', keyId: apiKey.id });
    expect((await owner.call(GET, { id: apiKey.id })).apiKey).toMatchObject({ status: 'DISABLED', version: 4 });

    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    expect(await verify(secret)).toMatchObject({ valid: true });

    const noop = (await owner.call(RENAME, { id: apiKey.id, name: 'staging' })).renameApiKey;
    expect(noop.version).toBe(5); // renaming to the current name changes nothing
    const history = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory;
    expect(history.map((event: { type: string; version: number }) => [event.type, event.version])).toEqual([
      ['ApiKeyCreated', 1],
      ['ApiKeyRenamed', 2],
      ['ApiKeyDescriptionUpdated', 3],
      ['ApiKeyStatusChanged', 4],
      ['ApiKeyStatusChanged', 5],
    ]);
    expect(history[0]).toMatchObject({ keyId: apiKey.id, actor: owner.identity.sub, data: { termsAccepted: true, name: 'prod backend' } });
    expect(history[1].data).toEqual({ name: 'staging', previousName: 'prod backend' });
  });

  it('applies a new scope and allowlist to the very next verification', async () => {
    const { apiKey, secret } = await create(owner);
    expect(await verify(secret, { clientIp: '203.0.113.7', model: 'anything' })).toMatchObject({ valid: true });

    await owner.call(UPDATE_SCOPE, { id: apiKey.id, scope: { mode: 'RESTRICTED', models: ['qwen-*'] }, ips: ['203.0.113.0/24'] });
    expect(await verify(secret, { clientIp: '203.0.113.7', model: 'qwen-max' })).toMatchObject({
      valid: true,
      scope: { mode: 'RESTRICTED', models: ['qwen-*'], services: [] },
    });
    expect(await verify(secret, { clientIp: '203.0.113.7', model: 'gpt-4o' })).toMatchObject({ valid: false, reason: 'SCOPE_DENIED' });
    expect(await verify(secret, { clientIp: '198.51.100.1', model: 'qwen-max' })).toMatchObject({ valid: false, reason: 'IP_NOT_ALLOWED' });
    expect(await verify(secret, { model: 'qwen-max' })).toMatchObject({ valid: false, reason: 'IP_NOT_ALLOWED' });

    // Without ipAllowlist the allowlist stays; with an empty one any address is allowed again.
    const kept = (await owner.call(UPDATE_SCOPE, { id: apiKey.id, scope: { mode: 'ALL' } })).updateScope;
    expect(kept.ipAllowlist).toEqual(['203.0.113.0/24']);
    await owner.call(UPDATE_SCOPE, { id: apiKey.id, scope: { mode: 'ALL' }, ips: [] });
    expect(await verify(secret, { clientIp: '198.51.100.1' })).toMatchObject({ valid: true });
  });

  it('deletes permanently: the next verification is NOT_FOUND, the key leaves the list, its history stays', async () => {
    const { apiKey, secret } = await create(owner);
    const deleted = (await owner.call(DELETE, { id: apiKey.id, v: 1 })).deleteApiKey;
    expect(deleted.id).toBe(apiKey.id);
    expect(await verify(secret)).toEqual({ valid: false, reason: 'NOT_FOUND', keyId: null, accountId: null, scope: null });
    expect((await owner.call(GET, { id: apiKey.id })).apiKey).toBeNull();
    expect((await owner.call(LIST)).apiKeys.totalCount).toBe(0);
    expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: 50, used: 0 });
    const history = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory;
    expect(history.map((event: { type: string }) => event.type)).toEqual(['ApiKeyCreated', 'ApiKeyDeleted']);
    expect(history[1].occurredAt).toBe(deleted.deletedAt);
  });

  it('rebuilds a key as it stood at any past instant, including before its deletion', async () => {
    const { apiKey } = await create(owner, { name: 'first name' });
    api.clock.advance(1000);
    const afterCreate = api.clock.now().toISOString();
    api.clock.advance(1000);
    await owner.call(RENAME, { id: apiKey.id, name: 'second name' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    api.clock.advance(1000);
    const beforeDelete = api.clock.now().toISOString();
    api.clock.advance(1000);
    await owner.call(DELETE, { id: apiKey.id });

    expect((await owner.call(GET, { id: apiKey.id, asOf: afterCreate })).apiKey).toMatchObject({ name: 'first name', status: 'ENABLED', version: 1 });
    expect((await owner.call(GET, { id: apiKey.id, asOf: beforeDelete })).apiKey).toMatchObject({ name: 'second name', status: 'DISABLED', version: 3 });
    expect((await owner.call(GET, { id: apiKey.id, asOf: api.clock.now().toISOString() })).apiKey).toBeNull();
    expect((await owner.call(GET, { id: apiKey.id, asOf: '2000-01-01T00:00:00.000Z' })).apiKey).toBeNull();
  });

  it('answers MALFORMED for a mistyped key without a lookup, NOT_FOUND for an unknown well-formed one', async () => {
    const { secret } = await create(owner);
    const typo = secret.slice(0, 20) + (secret[20] === 'x' ? 'y' : 'x') + secret.slice(21);
    expect(await verify(typo)).toMatchObject({ valid: false, reason: 'MALFORMED', keyId: null });
    expect(await verify(secret.slice(0, -2))).toMatchObject({ valid: false, reason: 'MALFORMED' });
    expect(await verify('')).toMatchObject({ valid: false, reason: 'MALFORMED' });
    const other = await newOwner();
    const { secret: deletedSecret, apiKey } = await create(other);
    await other.call(DELETE, { id: apiKey.id });
    expect(await verify(deletedSecret)).toMatchObject({ valid: false, reason: 'NOT_FOUND' });
  });

  it('answers EXPIRED from the instant of the expiry on', async () => {
    const expiresAtMs = api.clock.now().getTime() + 1500;
    const { secret, apiKey } = await create(owner, { expiresAt: at(expiresAtMs) });
    expect(await verify(secret)).toMatchObject({ valid: true });
    api.clock.advance(1499);
    expect(await verify(secret)).toMatchObject({ valid: true });
    api.clock.advance(1);
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'EXPIRED', keyId: apiKey.id });
  });

  describe('lastUsedAt', () => {
    it('records a valid use as lastUsedAt, without a new version or history entry', async () => {
      const { apiKey, secret } = await create(owner);
      api.clock.advance(5000);
      const usedAt = api.clock.now().toISOString();
      await api
        .given()
        .when(api.graphql(gateway.token, VERIFY_VALID, { key: secret }))
        .then(expectResponse({ data: { verifyApiKey: { valid: true } } }), expectNewEvents(apiKeyStream(apiKey.id), []));
      await api.flushUses();
      const key = (await owner.call(GET, { id: apiKey.id })).apiKey;
      expect(key).toMatchObject({ lastUsedAt: usedAt, version: 1, updatedAt: apiKey.updatedAt });
      expect((await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory).toHaveLength(1);
    });

    it('is written by the service on its own (its flush timer) within two seconds, with no explicit flush', async () => {
      const { apiKey, secret } = await create(owner);
      const usedAt = api.clock.now().toISOString();
      await verify(secret);
      await until(async () => (await owner.call(GET, { id: apiKey.id })).apiKey.lastUsedAt !== null, 2000);
      expect((await owner.call(GET, { id: apiKey.id })).apiKey.lastUsedAt).toBe(usedAt);
    });

    it('is not set by a failed verification', async () => {
      const { apiKey: unused, secret: disabledSecret } = await create(owner);
      await owner.call(SET_STATUS, { id: unused.id, status: 'DISABLED' });
      expect(await verify(disabledSecret)).toMatchObject({ valid: false, reason: 'DISABLED' });
      await api.flushUses(); // writes every use noted so far: a use of the disabled key would be written now
      expect((await owner.call(GET, { id: unused.id })).apiKey.lastUsedAt).toBeNull();
    });

    it('writes one entry per key per flush, carrying the latest use since the last flush', async () => {
      const { apiKey, secret } = await create(owner);
      const firstUse = api.clock.now().toISOString();
      await verify(secret);
      await api.flushUses();
      expect((await owner.call(GET, { id: apiKey.id })).apiKey.lastUsedAt).toBe(firstUse);
      api.clock.advance(30_000);
      await verify(secret);
      api.clock.advance(10_000);
      const latestUse = api.clock.now().toISOString();
      await verify(secret); // two uses between flushes: one entry, the latest
      await api.flushUses();
      expect((await owner.call(GET, { id: apiKey.id })).apiKey.lastUsedAt).toBe(latestUse);
    });
  });

  it('pages with cursors, filters and orders, with a correct totalCount', async () => {
    const names = ['delta', 'Alpha', 'charlie', 'Bravo', 'echo'];
    const ids: Record<string, string> = {};
    for (const name of names) {
      ids[name] = (await create(owner, { name, description: name === 'echo' ? 'Nightly BATCH' : null })).apiKey.id;
      api.clock.advance(1000);
    }
    await owner.call(SET_STATUS, { id: ids['charlie'], status: 'DISABLED' });

    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: Array<{ name: string }> } = (
        await owner.call(LIST, { orderBy: 'NAME_ASC', first: 2, after })
      ).apiKeys;
      expect(page.totalCount).toBe(5);
      seen.push(...page.nodes.map((node) => node.name));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(['Alpha', 'Bravo', 'charlie', 'delta', 'echo']);

    const newestFirst = (await owner.call(LIST, { first: 5 })).apiKeys.nodes.map((node: { name: string }) => node.name);
    expect(newestFirst).toEqual([...names].reverse());
    const oldestFirst = (await owner.call(LIST, { orderBy: 'CREATED_AT_ASC' })).apiKeys.nodes.map((node: { name: string }) => node.name);
    expect(oldestFirst).toEqual(names);

    const disabled = (await owner.call(LIST, { filter: { status: 'DISABLED' } })).apiKeys;
    expect(disabled).toMatchObject({ totalCount: 1, nodes: [{ name: 'charlie' }] });
    const searched = (await owner.call(LIST, { filter: { search: 'batch' } })).apiKeys;
    expect(searched).toMatchObject({ totalCount: 1, nodes: [{ name: 'echo' }] });
    const unused = (await owner.call(LIST, { filter: { unusedSince: api.clock.now().toISOString() } })).apiKeys;
    expect(unused.totalCount).toBe(5);
    expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: 50, used: 5 });
  });
});

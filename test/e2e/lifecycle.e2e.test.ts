import { randomUUID } from 'node:crypto';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { startKeyhubProcess } from '../support/keyhubProcess';
import { clientFor } from '../support/graphqlClient';
import { CREATE, DELETE, DESCRIBE, GET, HISTORY, LIST, QUOTA, RENAME, SET_STATUS, UPDATE_SCOPE, VERIFY } from '../support/operations';

type Client = Awaited<ReturnType<typeof clientFor>>;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('API key lifecycle over HTTP', () => {
  let keyhub: KeyhubProcess;
  let owner: Client;
  let gateway: Client;
  const newOwner = () => clientFor(keyhub.url, { sub: `user-${randomUUID()}`, account: `acct-${randomUUID()}` });
  const create = async (client: Client, input: Record<string, unknown> = {}) =>
    (await client.call(CREATE, { input: { name: 'prod backend', acceptTerms: true, ...input } })).createApiKey;
  const verify = async (key: string, request: Record<string, unknown> = {}) => (await gateway.call(VERIFY, { key, ...request })).verifyApiKey;

  beforeAll(async () => {
    keyhub = await startKeyhubProcess({ env: { DEFAULT_REGION: 'cn-hangzhou', USAGE_FLUSH_MS: '250' } });
    gateway = await clientFor(keyhub.url, { sub: 'gw-1', account: 'platform', roles: ['gateway'] });
  });
  beforeEach(async () => {
    owner = await newOwner();
  });
  afterAll(async () => {
    await keyhub.stop();
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
    await sleep(20);
    const afterCreate = new Date().toISOString();
    await sleep(20);
    await owner.call(RENAME, { id: apiKey.id, name: 'second name' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    await sleep(20);
    const beforeDelete = new Date().toISOString();
    await sleep(20);
    await owner.call(DELETE, { id: apiKey.id });

    expect((await owner.call(GET, { id: apiKey.id, asOf: afterCreate })).apiKey).toMatchObject({ name: 'first name', status: 'ENABLED', version: 1 });
    expect((await owner.call(GET, { id: apiKey.id, asOf: beforeDelete })).apiKey).toMatchObject({ name: 'second name', status: 'DISABLED', version: 3 });
    expect((await owner.call(GET, { id: apiKey.id, asOf: new Date().toISOString() })).apiKey).toBeNull();
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

  it('answers EXPIRED once the expiry has passed', async () => {
    const { secret } = await create(owner, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect(await verify(secret)).toMatchObject({ valid: true });
    await sleep(1600);
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'EXPIRED' });
  });

  it('records a valid use as lastUsedAt within a second, without a new version or history entry', async () => {
    const { apiKey, secret } = await create(owner);
    const before = Date.now();
    expect(await verify(secret)).toMatchObject({ valid: true });
    let lastUsedAt: string | null = null;
    for (let i = 0; i < 20 && !lastUsedAt; i += 1) {
      await sleep(100);
      lastUsedAt = (await owner.call(GET, { id: apiKey.id })).apiKey.lastUsedAt;
    }
    expect(lastUsedAt).not.toBeNull();
    expect(Date.parse(lastUsedAt as string)).toBeGreaterThanOrEqual(before - 5);
    const key = (await owner.call(GET, { id: apiKey.id })).apiKey;
    expect(key.version).toBe(1);
    expect((await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory).toHaveLength(1);
    // A failed verification is not a use.
    const { apiKey: unused, secret: disabledSecret } = await create(owner);
    await owner.call(SET_STATUS, { id: unused.id, status: 'DISABLED' });
    await verify(disabledSecret);
    await sleep(600);
    expect((await owner.call(GET, { id: unused.id })).apiKey.lastUsedAt).toBeNull();
  });

  it('pages with cursors, filters and orders, with a correct totalCount', async () => {
    const names = ['delta', 'Alpha', 'charlie', 'Bravo', 'echo'];
    const ids: Record<string, string> = {};
    for (const name of names) ids[name] = (await create(owner, { name, description: name === 'echo' ? 'Nightly BATCH' : null })).apiKey.id;
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
    const unused = (await owner.call(LIST, { filter: { unusedSince: new Date().toISOString() } })).apiKeys;
    expect(unused.totalCount).toBe(5);
    expect((await owner.call(QUOTA)).accountQuota).toEqual({ limit: 50, used: 5 });
  });
});

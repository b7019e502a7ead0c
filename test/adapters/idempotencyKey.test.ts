import pino from 'pino';
import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { IDEMPOTENCY_WINDOW_MS, idempotencyOf, isWrittenBy } from '../../src/application/idempotency';
import type { EventStore, RecordedEvent } from '../../src/ports/eventStore';
import type { Keyhub } from '../../src/compositionRoot';
import type { Engines } from '../../src/engines';
import { startKeyhub } from '../../src/compositionRoot';
import type { GraphQLResponse } from '../support/graphqlClient';
import { EventStoreDbWireServer } from '../support/eventStoreDbWireServer';
import { CREATE, HISTORY, LIST, QUOTA, SET_STATUS, VERIFY } from '../support/operations';
import { inProcessConfig as config } from './serviceHarness';
import { until } from '../support/apiHelpers';

const ROTATE = 'mutation($id: ID!, $grace: Int!) { rotateApiKey(id: $id, gracePeriodSeconds: $grace) { secret apiKey { id version } } }';

/** The same service on the embedded log, and on the EventStoreDB adapter over the wire (the real client, the protocol model). */
const ENGINES: Array<[string, () => Promise<{ store: EventStore; close(): Promise<void> }>]> = [
  ['the embedded SQLite log', async () => {
    const store = new SqliteEventStore(':memory:');
    return { store, close: () => store.dispose() };
  }],
  ['EventStoreDB over the wire', async () => {
    const server = await new EventStoreDbWireServer({ batchAppend: true }).start();
    const store = EventStoreDbStore.connect(server.url);
    return {
      store,
      close: async () => {
        await Promise.race([store.dispose(), new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
        await server.close();
      },
    };
  }],
];

describe.each(ENGINES)('Idempotency-Key on %s', (_engine, openStore) => {
  let keyhub: Keyhub;
  let account = 0;
  let token: string;

  /** POSTs one operation, with an Idempotency-Key when given. */
  async function call(query: string, variables: Record<string, unknown>, idempotencyKey?: string | string[]): Promise<GraphQLResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    if (typeof idempotencyKey === 'string') headers['idempotency-key'] = idempotencyKey;
    const response = await fetch(keyhub.url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return { status: response.status, ...((await response.json()) as object) };
  }
  const create = (name: string, key?: string) => call(CREATE, { input: { name, acceptTerms: true } }, key);
  const keyIds = async () => ((await call(LIST, { first: 50 })).data.apiKeys.nodes as Array<{ id: string }>).map((node) => node.id);
  const verifies = async (secret: string) => (await call(VERIFY, { key: secret })).data.verifyApiKey.valid as boolean;

  beforeAll(async () => {
    const { store, close } = await openStore();
    const engines = async (): Promise<Engines> => ({
      store,
      readModel: new InProcessDatabase(),
      names: { eventStore: _engine, readModel: 'in-process' },
      external: true,
      probe: async () => undefined,
      close,
    });
    keyhub = await startKeyhub(config, pino({ level: 'silent' }), engines);
    await until(async () => (await fetch(keyhub.url.replace(/\/graphql$/, '/readyz'))).status === 200);
  });
  afterAll(async () => keyhub.stop());
  beforeEach(async () => {
    account += 1;
    token = await keyhub.jwt.sign({ sub: 'alice', account: `acct-idem-${account}`, roles: ['admin', 'gateway'] });
  });

  it('a create retried with the same key creates no second key and names the first instead of issuing a second secret', async () => {
    const first = await create('once', 'create-1');
    expect(first.errors).toBeUndefined();
    const { apiKey, secret } = first.data.createApiKey;
    const retried = await create('once', 'create-1');
    expect(retried.data).toBeNull();
    expect(retried.errors?.[0]?.extensions).toEqual({ code: 'CONFLICT', field: 'Idempotency-Key', keyId: apiKey.id });
    expect(retried.errors?.[0]?.message).toMatch(/secret was returned once/);
    expect(JSON.stringify(retried)).not.toContain('sk-');
    expect(await keyIds()).toEqual([apiKey.id]);
    expect((await call(QUOTA, {})).data.accountQuota.used).toBe(1);
    expect(await verifies(secret)).toBe(true);
    // Another key is another request.
    expect((await create('twice', 'create-2')).data.createApiKey.apiKey.id).not.toBe(apiKey.id);
  });

  it('concurrent attempts of one keyed create make one key: one answer with the secret, the others CONFLICT naming it', async () => {
    const answers = await Promise.all([0, 1, 2].map(() => create('raced', 'create-race')));
    const created = answers.filter((answer) => answer.data?.createApiKey);
    expect(created).toHaveLength(1);
    const id = created[0]?.data.createApiKey.apiKey.id as string;
    for (const answer of answers.filter((a) => !a.data?.createApiKey)) expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', keyId: id });
    expect(await keyIds()).toEqual([id]);
    expect((await call(QUOTA, {})).data.accountQuota.used).toBe(1);
  });

  it('a rotation retried with the same key rotates once: the first answer\'s secret stays the live one', async () => {
    const { apiKey } = (await create('rotated')).data.createApiKey;
    const first = await call(ROTATE, { id: apiKey.id, grace: 0 }, 'rotate-1');
    expect(first.data.rotateApiKey.apiKey.version).toBe(2);
    const retried = await call(ROTATE, { id: apiKey.id, grace: 0 }, 'rotate-1');
    expect(retried.errors?.[0]?.extensions).toEqual({ code: 'CONFLICT', field: 'Idempotency-Key', keyId: apiKey.id });
    const history = (await call(HISTORY, { id: apiKey.id })).data.apiKeyHistory as Array<{ type: string }>;
    expect(history.map((event) => event.type)).toEqual(['ApiKeyCreated', 'ApiKeyRotated']);
    expect(await verifies(first.data.rotateApiKey.secret)).toBe(true);
  });

  it('concurrent attempts of one keyed rotation rotate once', async () => {
    const { apiKey } = (await create('raced-rotation')).data.createApiKey;
    const answers = await Promise.all([0, 1, 2].map(() => call(ROTATE, { id: apiKey.id, grace: 60 }, 'rotate-race')));
    expect(answers.filter((answer) => answer.data?.rotateApiKey)).toHaveLength(1);
    const history = (await call(HISTORY, { id: apiKey.id })).data.apiKeyHistory as Array<{ type: string }>;
    expect(history.filter((event) => event.type === 'ApiKeyRotated')).toHaveLength(1);
  });

  it('a retried change applies once, even after the key changed again meanwhile: it answers the key as it stands', async () => {
    const { apiKey } = (await create('toggled')).data.createApiKey;
    expect((await call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' }, 'disable-1')).data.setKeyStatus.status).toBe('DISABLED');
    expect((await call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' })).data.setKeyStatus.status).toBe('ENABLED');
    const retried = await call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' }, 'disable-1');
    expect(retried.data.setKeyStatus).toMatchObject({ status: 'ENABLED', version: 3 });
  });

  it('refuses a key reused for a different request, and a malformed key, with BAD_USER_INPUT on Idempotency-Key', async () => {
    expect((await create('first', 'reused')).errors).toBeUndefined();
    const other = await create('different', 'reused');
    expect(other.errors?.[0]?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'Idempotency-Key' });
    const malformed = await create('spaced', 'has spaces');
    expect(malformed.status).toBe(400);
    expect(malformed.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'Idempotency-Key' });
    expect(await keyIds()).toHaveLength(1);
  });
});

describe('Idempotency-Key: the 24-hour window', () => {
  const now = new Date('2026-11-26T12:00:00.000Z');
  const idempotency = idempotencyOf('acct', 'key-1', 'RotateApiKey', { id: 'k1' }, now);
  const written = (created: Date, requestHash = idempotency.requestHash): RecordedEvent => ({
    streamId: 'apiKey-k1',
    id: 'e1',
    revision: 1n,
    type: 'ApiKeyRotated',
    data: {},
    metadata: { idempotencyKey: idempotency.key, requestHash },
    isJson: true,
    created,
    position: { commit: 1n, prepare: 1n },
  });

  it('recognises the request within 24 hours and forgets it after', () => {
    expect(isWrittenBy(written(new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS + 1000)), idempotency)).toBe(true);
    expect(isWrittenBy(written(new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS - 1000)), idempotency)).toBe(false);
  });

  it('scopes a key to its account: the same key from another account is another request', () => {
    const elsewhere = idempotencyOf('other-acct', 'key-1', 'RotateApiKey', { id: 'k1' }, now);
    expect(isWrittenBy(written(now), elsewhere)).toBe(false);
    expect(() => isWrittenBy(written(now, 'another-request'), idempotency)).toThrow(/different request/);
  });
});

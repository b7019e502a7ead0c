import pino from 'pino';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Database } from '../../src/ports/collection';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { gql } from '../support/graphqlClient';
import { inProcessConfig as config } from './serviceHarness';
import { until } from '../support/apiHelpers';

const CREATE = 'mutation($name: String!) { createApiKey(input: { name: $name, acceptTerms: true }) { secret apiKey { id } } }';
const DISABLE = 'mutation($id: ID!) { setKeyStatus(id: $id, status: DISABLED) { status version } }';
const VERIFY = 'query($key: String!) { verifyApiKey(key: $key) { valid reason } }';
const LIST = '{ apiKeys(first: 50) { totalCount nodes { id status } } }';


/**
 * Several stateless instances on the same engines, in one process: one log shared by all (as
 * EventStoreDB is), and either one read model shared by all (MongoDB: every instance projects
 * into it; the writes are guarded by stream revision, so concurrent writers agree) or one per
 * instance (the in-process read model).
 */
describe.each([
  ['a shared read model (as on MongoDB), every instance a projection writer', true],
  ['a read model per instance (in-process)', false],
])('Several instances on one log, with %s', (_name, sharedReadModel) => {
  const store = new SqliteEventStore(':memory:');
  const shared = new InProcessDatabase();
  const instances: Keyhub[] = [];
  let admin: string;
  let gateway: string;

  beforeAll(async () => {
    for (let i = 0; i < 3; i += 1) {
      const readModel: Database = sharedReadModel ? shared : new InProcessDatabase();
      instances.push(
        await startKeyhub(config, pino({ level: 'silent' }), async () => ({
          store,
          readModel,
          names: { eventStore: 'shared log', readModel: sharedReadModel ? 'shared' : 'own' },
          external: false,
          probe: async () => undefined,
          close: async () => undefined, // the log outlives the instances; closed below
        })),
      );
    }
    admin = await (instances[0] as Keyhub).jwt.sign({ sub: 'alice', account: 'acct-multi', roles: ['admin'] });
    gateway = await (instances[0] as Keyhub).jwt.sign({ sub: 'gw', account: 'acct-multi', roles: ['gateway'] });
  });
  afterAll(async () => {
    for (const instance of instances) await instance.stop();
    await store.dispose();
  });

  const on = (instance: number) => (instances[instance] as Keyhub).url;

  it('serves a key created through one instance from every instance, and rejects it everywhere once disabled through another', async () => {
    const created = (await gql(on(0), admin, CREATE, { name: 'shared' })).data?.createApiKey;
    expect(created?.secret).toMatch(/^sk-/);
    // Read-your-writes on the instance that served the mutation, at once.
    expect((await gql(on(0), gateway, VERIFY, { key: created.secret })).data?.verifyApiKey).toEqual({ valid: true, reason: null });
    for (const instance of [1, 2]) {
      await until(async () => (await gql(on(instance), gateway, VERIFY, { key: created.secret })).data?.verifyApiKey.valid === true);
      await until(async () => (await gql(on(instance), admin, LIST)).data?.apiKeys.totalCount === 1);
    }

    expect((await gql(on(1), admin, DISABLE, { id: created.apiKey.id })).data?.setKeyStatus).toEqual({ status: 'DISABLED', version: 2 });
    expect((await gql(on(1), gateway, VERIFY, { key: created.secret })).data?.verifyApiKey.valid).toBe(false);
    for (const instance of [0, 2]) {
      await until(async () => (await gql(on(instance), gateway, VERIFY, { key: created.secret })).data?.verifyApiKey.valid === false);
      expect((await gql(on(instance), gateway, VERIFY, { key: created.secret })).data?.verifyApiKey.reason).toBe('DISABLED');
    }
  });

  it('keeps every key created concurrently through different instances, once, in every instance\'s list', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => gql(on(i % 3), admin, CREATE, { name: `parallel-${i}` })));
    expect(results.every((result) => !result.errors)).toBe(true);
    const ids = results.map((result) => result.data?.createApiKey.apiKey.id as string).sort();
    for (const instance of [0, 1, 2]) {
      await until(async () => (await gql(on(instance), admin, LIST)).data?.apiKeys.totalCount === 13);
      const listed = ((await gql(on(instance), admin, LIST)).data?.apiKeys.nodes as Array<{ id: string }>).map((node) => node.id);
      expect(new Set(listed).size).toBe(13);
      expect(ids.every((id) => listed.includes(id))).toBe(true);
    }
  });
});

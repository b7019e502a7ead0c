import pino from 'pino';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Collection, Database, Document } from '../../src/ports/collection';
import type { AllStreamSubscription, EventStore, ResolvedEvent } from '../../src/ports/eventStore';
import { EventStoreUnavailableError, jsonEvent } from '../../src/ports/eventStore';
import { accountDecider } from '../../src/domain/account/account';
import { aggregateStream } from '../../src/application/commandHandler';
import { accountStream } from '../../src/eventLog/streams';
import type { Keyhub } from '../../src/compositionRoot';
import type { Engines } from '../../src/engines';
import { startKeyhub } from '../../src/compositionRoot';
import { gql } from '../support/graphqlClient';
import { inProcessConfig as config } from './serviceHarness';
import { until } from '../support/apiHelpers';

/**
 * An event store that goes down and comes back on demand, as a server would: while down every
 * call fails with EventStoreUnavailableError and open subscriptions break. Appends to streams with
 * a given prefix can be failed alone: a write that fails half-way, after another stream was written.
 */
class OutageEventStore implements EventStore {
  readonly inner = new SqliteEventStore(':memory:');
  down = false;
  failAppendsTo: string | null = null;
  private readonly breakers = new Set<(error: Error) => void>();

  goDown(): void {
    this.down = true;
    for (const breakSubscription of this.breakers) breakSubscription(this.unavailable());
  }

  private unavailable(): EventStoreUnavailableError {
    return new EventStoreUnavailableError('EventStoreDB is unavailable: 14 UNAVAILABLE (simulated outage)');
  }

  private check(): void {
    if (this.down) throw this.unavailable();
  }

  async appendToStream(...args: Parameters<EventStore['appendToStream']>) {
    this.check();
    if (this.failAppendsTo !== null && args[0].startsWith(this.failAppendsTo)) throw this.unavailable();
    return this.inner.appendToStream(...args);
  }

  async *readStream(...args: Parameters<EventStore['readStream']>): AsyncIterable<ResolvedEvent> {
    this.check();
    yield* this.inner.readStream(...args);
  }

  async *readAll(...args: Parameters<EventStore['readAll']>): AsyncIterable<ResolvedEvent> {
    this.check();
    yield* this.inner.readAll(...args);
  }

  subscribeToAll(...args: Parameters<EventStore['subscribeToAll']>): AllStreamSubscription {
    this.check();
    const inner = this.inner.subscribeToAll(...args);
    const iterator = inner[Symbol.asyncIterator]();
    let broken: ((error: Error) => void) | null = null;
    const breaking = new Promise<never>((_resolve, reject) => (broken = reject));
    breaking.catch(() => undefined);
    const breaker = (error: Error) => broken?.(error);
    this.breakers.add(breaker);
    const breakers = this.breakers;
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.race([iterator.next(), breaking]),
        return: async () => (breakers.delete(breaker), { done: true as const, value: undefined }),
        [Symbol.asyncIterator]() {
          return this;
        },
      }),
      unsubscribe: async () => {
        breakers.delete(breaker);
        await inner.unsubscribe();
      },
    };
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

/** The in-process read model, with projection batches made slow on demand (a busy MongoDB), so that catching up takes a while. */
function slowableReadModel(): { database: Database; slow: { on: boolean } } {
  const inner = new InProcessDatabase();
  const slow = { on: false };
  const database: Database = {
    collection: <T extends Document>(name: string): Collection<T> => {
      const collection = inner.collection<T>(name);
      return new Proxy(collection, {
        get: (target, property, receiver) =>
          property === 'bulkWrite'
            ? async (...args: Parameters<Collection<T>['bulkWrite']>) => {
                if (slow.on) await new Promise((resolve) => setTimeout(resolve, 25));
                return target.bulkWrite(...args);
              }
            : Reflect.get(target, property, receiver),
      });
    },
    dropDatabase: () => inner.dropDatabase(),
  };
  return { database, slow };
}

const CREATE = 'mutation($name: String!) { createApiKey(input: { name: $name, acceptTerms: true }) { apiKey { id name version } } }';
const LIST = '{ apiKeys(first: 50) { totalCount nodes { name version } } }';


/** A service started on its own outage-simulating store and slowable read model; `down`: the engine is down when it starts. */
async function serviceOnFaultyEngines(options: { down: boolean }) {
  const store = new OutageEventStore();
  store.down = options.down;
  const readModel = slowableReadModel();
  const engines = async (): Promise<Engines> => ({
    store,
    readModel: readModel.database,
    names: { eventStore: 'outage-simulating store', readModel: 'in-process' },
    external: true,
    probe: async () => {
      for await (const _newest of store.readAll({ fromPosition: 'end', direction: 'backwards', maxCount: 1 })) break;
    },
    close: () => store.dispose(),
  });
  const keyhub = await startKeyhub(config, pino({ level: 'silent' }), engines);
  running.push(keyhub);
  const token = await keyhub.jwt.sign({ sub: 'alice', account: 'acct-faults', roles: ['admin'] });
  const readyz = async () => (await fetch(keyhub.url.replace(/\/graphql$/, '/readyz'))).status;
  const call = (query: string, variables: Record<string, unknown> = {}) => gql(keyhub.url, token, query, variables);
  const names = async () => ((await call(LIST)).data?.apiKeys.nodes as Array<{ name: string }>).map((node) => node.name).sort();
  if (!options.down) await until(async () => (await readyz()) === 200);
  return { store, readModel, readyz, call, names };
}

const running: Keyhub[] = [];

// Each test starts its own service on its own engines: none depends on what another left behind, or on their order.
describe('Engine faults: the service on engines that go down and come back', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((keyhub) => keyhub.stop()));
  });

  it('listens at once while the engine is down, answers 503 on /readyz and /graphql, and becomes ready when it comes back', async () => {
    const { store, readyz, call } = await serviceOnFaultyEngines({ down: true });
    expect(await readyz()).toBe(503);
    const refused = await call(LIST);
    expect(refused.status).toBe(503);
    expect(refused.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    store.down = false;
    await until(async () => (await readyz()) === 200);
    expect((await call(CREATE, { name: 'before-outage' })).data?.createApiKey.apiKey).toMatchObject({ name: 'before-outage', version: 1 });
  });

  it('fails a write that cannot be made with the retryable SERVICE_UNAVAILABLE, leaving nothing half-written', async () => {
    const { store, call, names } = await serviceOnFaultyEngines({ down: false });
    expect((await call(CREATE, { name: 'before-outage' })).data?.createApiKey.apiKey.name).toBe('before-outage');
    // The account's slot is reserved, then the key's own stream cannot be written: the slot must be given back.
    store.failAppendsTo = 'apiKey-';
    const failed = await call(CREATE, { name: 'never-written' });
    store.failAppendsTo = null;
    expect(failed.errors?.[0]).toMatchObject({ message: 'the event store is unavailable; retry shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(await names()).toEqual(['before-outage']);
    expect((await call('{ accountQuota { used } }')).data?.accountQuota.used).toBe(1);
    const account = await aggregateStream(store.inner, accountStream('acct-faults'), accountDecider);
    expect([...account.state.slots].length).toBe(1); // the slot taken for the failed key was released
  });

  it('goes not-ready when the connection is lost at run time, and resumes from its checkpoint without losing or repeating events', async () => {
    const { store, readModel, readyz, call, names } = await serviceOnFaultyEngines({ down: false });
    expect((await call(CREATE, { name: 'before-outage' })).data?.createApiKey.apiKey.name).toBe('before-outage');
    store.goDown();
    await until(async () => (await readyz()) === 503);
    // Meanwhile other instances keep writing to the log: this one must apply all of it before it is ready again.
    const limits = Array.from({ length: 2000 }, (_, i) => jsonEvent({ type: 'AccountKeyLimitSet', data: { accountId: 'acct-faults', limit: i + 1, occurredAt: new Date().toISOString() } }));
    for (let i = 0; i < limits.length; i += 100) await store.inner.appendToStream(accountStream('acct-faults'), limits.slice(i, i + 100));
    readModel.slow.on = true;
    store.down = false;
    await until(async () => (await readyz()) === 200, 15_000, 5);
    expect((await call('{ accountQuota { limit } }')).data?.accountQuota.limit).toBe(2000);
    readModel.slow.on = false;
    expect((await call(CREATE, { name: 'after-outage' })).data?.createApiKey.apiKey.name).toBe('after-outage');
    const list = (await call(LIST)).data?.apiKeys;
    expect(list.totalCount).toBe(2);
    expect(await names()).toEqual(['after-outage', 'before-outage']);
  });
});

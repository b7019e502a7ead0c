import pino from 'pino';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { AllStreamSubscription, EventStore, ResolvedEvent } from '../../src/ports/eventStore';
import { EventStoreUnavailableError } from '../../src/ports/eventStore';
import { accountDecider } from '../../src/domain/account/account';
import { aggregateStream } from '../../src/application/commandHandler';
import { accountStream } from '../../src/eventLog/streams';
import type { Keyhub } from '../../src/compositionRoot';
import type { Engines } from '../../src/engines';
import { startKeyhub } from '../../src/compositionRoot';
import { gql } from '../support/graphqlClient';
import { CREATE, HISTORY, QUOTA, VERIFY } from '../support/operations';
import { inProcessConfig as config } from './serviceHarness';

/**
 * The log as EventStoreDB behaves when an append fails unclearly: the events are committed and the
 * caller gets a timeout (`commitThenTimeOut`), or appends and reads of a stream fail outright.
 */
class UnclearEventStore implements EventStore {
  readonly inner = new SqliteEventStore(':memory:');
  /** Stream prefixes whose next append is committed, then answered with a timeout (one each). */
  readonly commitThenTimeOut: string[] = [];
  /** A stream prefix whose appends and reads fail, without writing. */
  unreachable: string | null = null;
  /** A stream prefix that becomes unreachable at its first append: it can be read before, not after (a server lost mid-write). */
  lostAtAppend: string | null = null;

  private timeout(): EventStoreUnavailableError {
    return new EventStoreUnavailableError('EventStoreDB is unavailable: 4 DEADLINE_EXCEEDED (simulated commit timeout)');
  }

  async appendToStream(...args: Parameters<EventStore['appendToStream']>) {
    if (this.lostAtAppend !== null && args[0].startsWith(this.lostAtAppend)) this.unreachable = this.lostAtAppend;
    if (this.unreachable !== null && args[0].startsWith(this.unreachable)) throw this.timeout();
    const index = this.commitThenTimeOut.findIndex((prefix) => args[0].startsWith(prefix));
    const result = await this.inner.appendToStream(...args);
    if (index >= 0) {
      this.commitThenTimeOut.splice(index, 1);
      throw this.timeout();
    }
    return result;
  }

  async *readStream(...args: Parameters<EventStore['readStream']>): AsyncIterable<ResolvedEvent> {
    if (this.unreachable !== null && args[0].startsWith(this.unreachable)) throw this.timeout();
    yield* this.inner.readStream(...args);
  }

  readAll(...args: Parameters<EventStore['readAll']>): AsyncIterable<ResolvedEvent> {
    return this.inner.readAll(...args);
  }

  subscribeToAll(...args: Parameters<EventStore['subscribeToAll']>): AllStreamSubscription {
    return this.inner.subscribeToAll(...args);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

const ROTATE = 'mutation($id: ID!) { rotateApiKey(id: $id, gracePeriodSeconds: 0) { secret apiKey { id version } } }';
const input = (name: string) => ({ input: { name, acceptTerms: true } });

describe('Safe retries: an append that failed unclearly is neither lost nor written twice', () => {
  let store: UnclearEventStore;
  let keyhub: Keyhub;
  let token: string;
  let account = 0;
  const call = (query: string, variables: Record<string, unknown> = {}) => gql(keyhub.url, token, query, variables);
  const slots = async (accountId: string) => [...(await aggregateStream(store.inner, accountStream(accountId), accountDecider)).state.slots.keys()];
  const verifies = async (secret: string) => {
    const answer = await call(VERIFY, { key: secret });
    if (answer.errors) throw new Error(JSON.stringify(answer.errors));
    return answer.data?.verifyApiKey.valid as boolean;
  };

  beforeAll(async () => {
    store = new UnclearEventStore();
    const engines = async (): Promise<Engines> => ({
      store,
      readModel: new InProcessDatabase(),
      names: { eventStore: 'unclear-failure store', readModel: 'in-process' },
      external: true,
      probe: async () => undefined,
      close: () => store.dispose(),
    });
    keyhub = await startKeyhub(config, pino({ level: 'silent' }), engines);
  });
  afterAll(async () => keyhub.stop());
  beforeEach(async () => {
    account += 1;
    token = await keyhub.jwt.sign({ sub: 'alice', account: `acct-retry-${account}`, roles: ['admin', 'gateway'] });
  });

  it('a create whose key was committed before a timeout answers with the key, which holds its slot and verifies', async () => {
    store.commitThenTimeOut.push('apiKey-');
    const created = await call(CREATE, input('committed-then-timed-out'));
    expect(created.errors).toBeUndefined();
    const { secret, apiKey } = created.data.createApiKey;
    expect(await slots(`acct-retry-${account}`)).toEqual([apiKey.id]);
    expect((await call(QUOTA)).data.accountQuota.used).toBe(1);
    expect(await verifies(secret)).toBe(true);
  });

  it('a rotation committed before a timeout is answered once: one rotation, and the returned secret is the live one', async () => {
    const { apiKey } = (await call(CREATE, input('rotated'))).data.createApiKey;
    store.commitThenTimeOut.push('apiKey-');
    const rotated = await call(ROTATE, { id: apiKey.id });
    expect(rotated.errors).toBeUndefined();
    expect(rotated.data.rotateApiKey.apiKey.version).toBe(2);
    const history = (await call(HISTORY, { id: apiKey.id })).data.apiKeyHistory as Array<{ type: string }>;
    expect(history.filter((event) => event.type === 'ApiKeyRotated')).toHaveLength(1);
    expect(await verifies(rotated.data.rotateApiKey.secret)).toBe(true);
  });

  it('a create whose outcome stays unknown (the key stream unreadable too) fails as retryable and keeps the slot it may be holding', async () => {
    store.lostAtAppend = 'apiKey-';
    const failed = await call(CREATE, input('unknown'));
    store.lostAtAppend = null;
    store.unreachable = null;
    expect(failed.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    expect(await slots(`acct-retry-${account}`)).toHaveLength(1); // given back by the sweep once the key is known not to exist
  });

  it('the slot of a create whose key is known not to be written is given back at once', async () => {
    // A failure the read-back clears: the stream is readable and does not hold the key.
    const failing = store.appendToStream.bind(store);
    store.appendToStream = async (...args) => (args[0].startsWith('apiKey-') ? Promise.reject(new EventStoreUnavailableError('14 UNAVAILABLE')) : failing(...args));
    try {
      const failed = await call(CREATE, input('not-written'));
      expect(failed.errors?.[0]?.extensions?.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      store.appendToStream = failing;
    }
    expect(await slots(`acct-retry-${account}`)).toEqual([]);
  });
});

/**
 * Wire-level suite for the EventStoreDB adapter: the real @eventstore/db-client 6.2.1 (the version
 * keyhub ships) talks gRPC to an in-test server built from the client's own generated stubs
 * (test/support/eventStoreDbWireServer.ts). It tests keyhub's use of the client (cancelling reads,
 * deadlines, error shapes, safe retries), not EventStoreDB: the server is a model of the protocol,
 * and the contract suite (test/contract) runs against a real server when EVENTSTORE_URL is set.
 * No server needs to be installed: it runs in `npm test`.
 */
import { randomUUID } from 'node:crypto';
import * as client from '@eventstore/db-client';
import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import { accountDecider } from '../../src/domain/account/account';
import { commandHandler } from '../../src/application/commandHandler';
import type { LiveSource } from '../../src/application/liveFeedSubscriptions';
import { LiveFeeds } from '../../src/application/liveFeedSubscriptions';
import { apiKeyCreatedData } from '../support/eventFixtures';
import type { ResolvedEvent } from '../../src/ports/eventStore';
import { BACKWARDS, END, EventStoreUnavailableError, NO_STREAM, STREAM_EXISTS, WrongExpectedVersionError, jsonEvent, streamNameFilter } from '../../src/ports/eventStore';
import { EventStoreDbWireServer } from '../support/eventStoreDbWireServer';
import { eventStoreContract } from '../contract/eventStore.contract';
import type { WireServerOptions } from '../support/eventStoreDbWireServer';
import { until } from '../support/apiHelpers';

jest.setTimeout(20_000);

/** `promise`, or a failure naming `what` after `ms`: a call that hangs fails the test instead of the run. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Reads until the first event and leaves, as `lastLogPosition` and a live feed whose subscriber leaves do. */
async function firstOf(read: AsyncIterable<ResolvedEvent>): Promise<ResolvedEvent | null> {
  for await (const resolved of read) return resolved;
  return null;
}

/** A server and a store connected to it; both closed after each test. */
function wire(options: WireServerOptions = {}, deadlines = { readIdleMs: 2_000, appendMs: 2_000 }) {
  const opened: Array<{ server: EventStoreDbWireServer; store: EventStoreDbStore }> = [];
  afterEach(async () => {
    for (const { server, store } of opened.splice(0)) {
      await within(store.dispose(), 1000, 'dispose').catch(() => undefined);
      await server.close();
    }
  });
  return async () => {
    const server = await new EventStoreDbWireServer(options).start();
    const store = EventStoreDbStore.connect(server.url, deadlines);
    opened.push({ server, store });
    return { server, store };
  };
}

describe('EventStoreDB over the wire: reads left early are cancelled', () => {
  const open = wire({ maxConcurrentStreams: 5 });

  it('ten reads left after their first event leave the connection free (its limit is 5 open calls)', async () => {
    const { server, store } = await open();
    server.seed('$stats-127.0.0.1', 3000, 300); // more than a flow-control window: a paused read stays open
    for (let i = 0; i < 10; i += 1) {
      const first = await within(firstOf(store.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 10_000 })), 5000, `read ${i + 1}`);
      expect(first?.event?.streamId).toBe('$stats-127.0.0.1');
    }
    await until(async () => server.openReads === 0, 5000);
    expect(server.openReads).toBe(0);
  });

  it('live feeds resumed from an old cursor and left mid-replay leave the connection free (any client could fill it before)', async () => {
    const { server, store } = await open();
    for (let i = 0; i < 400; i += 1) {
      const created = jsonEvent({ type: 'ApiKeyCreated', data: apiKeyCreatedData({ keyId: `k${i}`, accountId: 'a1', occurredAt: '2026-11-25T08:00:00.000Z' }) as never, metadata });
      await store.appendToStream(`apiKey-k${i}`, created, { expectedRevision: NO_STREAM });
    }
    // A live side that never pushes and ends when the feed is left (as the pub/sub's does).
    const quiet: LiveSource = {
      apiKeyEvents: () => quietFeed(),
      keyStatusChanges: () => quietFeed(),
      webhookStatusChanges: () => quietFeed(),
    };
    const feeds = new LiveFeeds(store, quiet, 100, 100_000);
    const caller = { sub: 'mallory', accountId: 'a1', roles: [], requestId: 'r1' };
    for (let i = 0; i < 10; i += 1) {
      const feed = feeds.apiKeyEvents(caller, '1-1', () => undefined);
      expect((await within(feed.next(), 5000, `feed ${i + 1}`)).value?.keyId).toBe('k0');
      await feed.return?.();
    }
    await until(async () => server.openReads === 0, 5000);
  });

  it('a read the server never answers fails as unavailable after the read deadline, and its call is ended', async () => {
    const { server, store } = await open();
    server.seed('apiKey-k1', 1);
    server.stallReads = true;
    const error = await within(firstOf(store.readStream('apiKey-k1')).catch((thrown: unknown) => thrown), 5000, 'the stalled read');
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toMatch(/did not answer a read within 2000 ms/);
    await until(async () => server.openReads === 0, 5000);
    server.stallReads = false;
    expect((await within(firstOf(store.readStream('apiKey-k1')), 5000, 'the next read'))?.event?.revision).toBe(0n);
  });

  it('the probe gives up after its own deadline and ends its call', async () => {
    const { server, store } = await open();
    server.stallReads = true;
    await expect(within(store.probe(300), 5000, 'the probe')).rejects.toThrow(/did not answer a read within 300 ms/);
    await until(async () => server.openReads === 0, 5000);
  });
});

const metadata = { actor: 'alice', correlationId: 'req-1', causationId: 'req-1', schemaVersion: 1 };
const event = (type: string, id = randomUUID()) => jsonEvent({ id, type, data: { keyId: 'k1' }, metadata });

describe.each([
  ['Append (servers before 21.10)', false],
  ['BatchAppend', true],
])('EventStoreDB over the wire: appends through %s', (_name, batchAppend) => {
  const open = wire({ batchAppend });

  it('appends, reads back, and subscribes to $all with the stream filter, live events included', async () => {
    const { server, store } = await open();
    server.seed('$stats-127.0.0.1', 3);
    const appended = await store.appendToStream('apiKey-k1', [event('ApiKeyCreated'), event('ApiKeyRenamed')], { expectedRevision: NO_STREAM });
    expect(appended).toMatchObject({ success: true, nextExpectedRevision: 1n });
    expect(server.batchAppendCalls).toBe(batchAppend ? 1 : 0);
    const read: string[] = [];
    for await (const resolved of store.readStream('apiKey-k1')) read.push(`${resolved.event?.revision}:${resolved.event?.type}`);
    expect(read).toEqual(['0:ApiKeyCreated', '1:ApiKeyRenamed']);

    const subscription = store.subscribeToAll({ fromPosition: 'start', filter: streamNameFilter({ prefixes: ['apiKey-'] }) });
    const iterator = subscription[Symbol.asyncIterator]();
    const types: string[] = [];
    while (types.length < 2) types.push(String((await within(iterator.next(), 5000, 'catch-up')).value?.event?.type));
    const live = iterator.next();
    await store.appendToStream('apiKey-k1', event('ApiKeyRevoked'), { expectedRevision: 1n });
    types.push(String((await within(live, 5000, 'the live event')).value?.event?.type));
    expect(types).toEqual(['ApiKeyCreated', 'ApiKeyRenamed', 'ApiKeyRevoked']);
    await subscription.unsubscribe();
    await until(async () => server.openReads === 0, 5000);
  });

  it.each([
    ['a stale revision', 0n, 1n],
    ['no stream on an existing one', NO_STREAM, 1n],
    ['stream exists on a missing one', STREAM_EXISTS, NO_STREAM],
    ['a revision on a missing one', 4n, NO_STREAM],
  ] as const)('reports %s as WrongExpectedVersionError with the expected and actual revisions', async (_case, expected, actual) => {
    const { store } = await open();
    if (actual !== NO_STREAM) await store.appendToStream('apiKey-k1', [event('ApiKeyCreated'), event('ApiKeyRenamed')], { expectedRevision: NO_STREAM });
    const error = await store.appendToStream('apiKey-k1', event('Lost'), { expectedRevision: expected }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect(error).toMatchObject({ streamName: 'apiKey-k1', expectedVersion: expected, actualVersion: actual });
  });

  it('reports "Server Is Busy" as the retryable EventStoreUnavailableError, and the retry appends', async () => {
    const { server, store } = await open();
    server.appendFaults.push('busy');
    const events = [event('ApiKeyCreated')];
    await expect(store.appendToStream('apiKey-k1', events, { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(EventStoreUnavailableError);
    expect(server.streamEvents('apiKey-k1')).toHaveLength(0);
    await expect(store.appendToStream('apiKey-k1', events, { expectedRevision: NO_STREAM })).resolves.toMatchObject({ nextExpectedRevision: 0n });
  });

  it('after a timeout that followed the commit, a retry with the same ids and revision answers the first write and duplicates nothing', async () => {
    const { server, store } = await open();
    await store.appendToStream('apiKey-k1', event('ApiKeyCreated'), { expectedRevision: NO_STREAM });
    server.appendFaults.push('timeout-after-commit');
    const events = [event('ApiKeyRotated'), event('ApiKeyRenamed')];
    const unclear = await store.appendToStream('apiKey-k1', events, { expectedRevision: 0n }).catch((thrown: unknown) => thrown);
    expect(unclear).toBeInstanceOf(EventStoreUnavailableError);
    expect(server.streamEvents('apiKey-k1')).toHaveLength(3); // it was written
    const retried = await store.appendToStream('apiKey-k1', events, { expectedRevision: 0n });
    expect(retried.nextExpectedRevision).toBe(2n);
    expect(retried.position).toEqual({ commit: server.events[2]?.position, prepare: server.events[2]?.position });
    expect(server.streamEvents('apiKey-k1').map((e) => e.type)).toEqual(['ApiKeyCreated', 'ApiKeyRotated', 'ApiKeyRenamed']);
  });

  it('a command whose append timed out after the commit is retried by the command handler with the same ids: written once, answered', async () => {
    const { server, store } = await open();
    server.appendFaults.push('timeout-after-commit');
    const metadataOf = { actor: 'alice', correlationId: 'req-1', causationId: 'req-1', schemaVersion: 1 };
    const handled = await commandHandler(store).handle('account-a1', accountDecider, { type: 'SetAccountKeyLimit', data: { accountId: 'a1', limit: 7, now: '2026-11-25T08:00:00.000Z' } } as never, {
      metadata: metadataOf,
      retriesOnConflict: 0,
    });
    expect(handled.position).toEqual({ commit: server.events[0]?.position, prepare: server.events[0]?.position });
    expect(server.streamEvents('account-a1').map((e) => e.type)).toEqual(['AccountKeyLimitSet']);
    expect(server.appendCalls).toBe(2);
  });

  it('an append the server never answers fails as unavailable after the append deadline', async () => {
    const { server, store } = await open();
    server.appendFaults.push('silent');
    const error = await within(store.appendToStream('apiKey-k1', event('ApiKeyCreated'), { expectedRevision: NO_STREAM }).catch((thrown: unknown) => thrown), 5000, 'the append');
    expect(error).toBeInstanceOf(EventStoreUnavailableError);
    expect((error as Error).message).toMatch(/did not answer an append \(it may have been written\) within 2000 ms/);
  });

  it('a client built with throwOnAppendFailure=false still reports a version conflict as an error, never a success', async () => {
    const { server } = await open();
    const lenient = new EventStoreDbStore(client.EventStoreDBClient.connectionString(`${server.url}&throwOnAppendFailure=false`));
    try {
      await lenient.appendToStream('apiKey-k1', event('ApiKeyCreated'), { expectedRevision: NO_STREAM });
      const error = await lenient.appendToStream('apiKey-k1', event('Lost'), { expectedRevision: NO_STREAM }).catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(server.streamEvents('apiKey-k1')).toHaveLength(1);
    } finally {
      await within(lenient.dispose(), 1000, 'dispose').catch(() => undefined);
    }
  });
});

// The port's contract, through the real client, against the protocol model: keeps the model honest
// (what it answers is what the contract, and so EventStoreDB, answers) for the cases above.
let contractServer: EventStoreDbWireServer;
eventStoreContract('EventStoreDbStore over the wire model', async () => {
  contractServer = await new EventStoreDbWireServer({ batchAppend: true }).start();
  const store = EventStoreDbStore.connect(contractServer.url);
  return {
    store,
    close: async () => {
      await within(store.dispose(), 1000, 'dispose').catch(() => undefined);
      await contractServer.close();
    },
  };
});

/** An async iterator that yields nothing until returned. */
function quietFeed<T>(): AsyncIterableIterator<T> {
  let release: (() => void) | null = null;
  const iterator: AsyncIterableIterator<T> = {
    next: () => new Promise<IteratorResult<T>>((resolve) => (release = () => resolve({ done: true, value: undefined }))),
    return: async () => (release?.(), { done: true, value: undefined }),
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}

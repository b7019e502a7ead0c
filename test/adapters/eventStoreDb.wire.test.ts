/**
 * Wire-level suite for the EventStoreDB adapter: the real @eventstore/db-client 6.2.1 (the version
 * keyhub ships) talks gRPC to an in-test server built from the client's own generated stubs
 * (test/support/eventStoreDbWireServer.ts). It tests keyhub's use of the client (cancelling reads,
 * deadlines, error shapes, safe retries), not EventStoreDB: the server is a model of the protocol,
 * and the contract suite (test/contract) runs against a real server when EVENTSTORE_URL is set.
 * No server needs to be installed: it runs in `npm test`.
 */
import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import type { ResolvedEvent } from '../../src/application/ports/eventStore';
import { BACKWARDS, END, EventStoreUnavailableError } from '../../src/application/ports/eventStore';
import { EventStoreDbWireServer } from '../support/eventStoreDbWireServer';
import type { WireServerOptions } from '../support/eventStoreDbWireServer';
import { until } from './serviceHarness';

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

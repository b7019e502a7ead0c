import { randomUUID } from 'node:crypto';
import type { AllStreamSubscription, EventData, EventStore, Position, RecordedEvent } from '../../src/ports/eventStore';
import {
  ANY,
  BACKWARDS,
  END,
  EventIdInUseError,
  NO_STREAM,
  STREAM_EXISTS,
  StreamNotFoundError,
  WrongExpectedVersionError,
  comparePositions,
  jsonEvent,
  streamNameFilter,
} from '../../src/ports/eventStore';

/** What a contract run needs: a store, and a way to close it. Stream names get a fresh prefix per test, so a shared server is fine. */
export interface EventStoreUnderTest {
  store: EventStore;
  close(): Promise<void>;
}

const event = (type: string, data: Record<string, string | number> = {}): EventData =>
  jsonEvent({ type, data: { ...data }, metadata: { actor: 'alice', correlationId: 'req-1', causationId: 'req-1', schemaVersion: 1 } });

async function collect(iterable: AsyncIterable<{ event?: RecordedEvent }>): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for await (const resolved of iterable) if (resolved.event) events.push(resolved.event);
  return events;
}

/** Takes events from a subscription until `count` of them matched `accept`; fails after `timeoutMs`. */
async function take(subscription: AllStreamSubscription, count: number, accept: (event: RecordedEvent) => boolean = () => true, timeoutMs = 10_000): Promise<RecordedEvent[]> {
  const taken: RecordedEvent[] = [];
  const iterator = subscription[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (taken.length < count) {
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      iterator.next(),
      new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), 'timeout'))),
    ]);
    clearTimeout(timer);
    if (next === 'timeout') throw new Error(`subscription delivered ${taken.length} of ${count} events in ${timeoutMs} ms`);
    if (next.done) throw new Error(`subscription ended after ${taken.length} of ${count} events`);
    if (next.value.event && accept(next.value.event)) taken.push(next.value.event);
  }
  return taken;
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => new Error('expected a rejection'), (error: unknown) => error);

/**
 * The event-store port's contract: the same cases run against every adapter (the embedded SQLite
 * log always, EventStoreDB whenever EVENTSTORE_URL is set), so the service behaves the same on both.
 */
export function eventStoreContract(adapterName: string, open: () => Promise<EventStoreUnderTest>): void {
  describe(`EventStore contract: ${adapterName}`, () => {
    let underTest: EventStoreUnderTest;
    let store: EventStore;
    let prefix: string;
    const subscriptions: AllStreamSubscription[] = [];
    const stream = (name: string) => `${prefix}${name}`;
    const ours = (recorded: RecordedEvent) => recorded.streamId.startsWith(prefix);

    beforeAll(async () => {
      underTest = await open();
      store = underTest.store;
    });
    beforeEach(() => {
      prefix = `contract${randomUUID().replace(/-/g, '').slice(0, 12)}-`;
    });
    afterEach(async () => {
      await Promise.all(subscriptions.splice(0).map((subscription) => subscription.unsubscribe()));
    });
    afterAll(async () => underTest.close());

    const subscribe = (options: Parameters<EventStore['subscribeToAll']>[0]) => {
      const subscription = store.subscribeToAll(options);
      subscriptions.push(subscription);
      return subscription;
    };

    describe('appendToStream', () => {
      it('creates a stream with NO_STREAM and refuses NO_STREAM once it exists', async () => {
        const created = await store.appendToStream(stream('a'), [event('First'), event('Second')], { expectedRevision: NO_STREAM });
        expect(created.success).toBe(true);
        expect(created.nextExpectedRevision).toBe(1n);
        expect(created.position).toBeDefined();
        const error = await rejection(store.appendToStream(stream('a'), event('Third'), { expectedRevision: NO_STREAM }));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        expect(error).toMatchObject({ streamName: stream('a'), expectedVersion: NO_STREAM, actualVersion: 1n });
        expect((await collect(store.readStream(stream('a')))).map((e) => e.type)).toEqual(['First', 'Second']);
      });

      it('appends at the expected revision and refuses a stale one, naming the actual revision', async () => {
        await store.appendToStream(stream('b'), event('First'), { expectedRevision: NO_STREAM });
        expect((await store.appendToStream(stream('b'), event('Second'), { expectedRevision: 0n })).nextExpectedRevision).toBe(1n);
        const stale = await rejection(store.appendToStream(stream('b'), event('Lost'), { expectedRevision: 0n }));
        expect(stale).toBeInstanceOf(WrongExpectedVersionError);
        expect(stale).toMatchObject({ expectedVersion: 0n, actualVersion: 1n });
        const missing = await rejection(store.appendToStream(stream('none'), event('Lost'), { expectedRevision: 3n }));
        expect(missing).toBeInstanceOf(WrongExpectedVersionError);
        expect(missing).toMatchObject({ actualVersion: NO_STREAM });
        expect((await collect(store.readStream(stream('b')))).map((e) => e.type)).toEqual(['First', 'Second']);
      });

      it('appends with ANY whether or not the stream exists, and with STREAM_EXISTS only when it does', async () => {
        expect((await store.appendToStream(stream('c'), event('One'), { expectedRevision: ANY })).nextExpectedRevision).toBe(0n);
        expect((await store.appendToStream(stream('c'), event('Two'))).nextExpectedRevision).toBe(1n); // ANY is the default
        expect((await store.appendToStream(stream('c'), event('Three'), { expectedRevision: STREAM_EXISTS })).nextExpectedRevision).toBe(2n);
        const error = await rejection(store.appendToStream(stream('d'), event('Lost'), { expectedRevision: STREAM_EXISTS }));
        expect(error).toBeInstanceOf(WrongExpectedVersionError);
        await expect(collect(store.readStream(stream('d')))).rejects.toBeInstanceOf(StreamNotFoundError);
      });

      it('is idempotent: appending the same events (same ids) again writes nothing new', async () => {
        const events = [event('First'), event('Second')];
        const first = await store.appendToStream(stream('e'), events, { expectedRevision: NO_STREAM });
        const again = await store.appendToStream(stream('e'), events, { expectedRevision: NO_STREAM });
        expect(again.nextExpectedRevision).toBe(first.nextExpectedRevision);
        const read = await collect(store.readStream(stream('e')));
        expect(read.map((e) => e.id)).toEqual(events.map((e) => e.id));
      });
    });

    describe('appendToStream repeated (a retry after an unclear failure)', () => {
      it('answers a repeat at a revision with the first write\'s result, the last event\'s revision and position, even after later appends', async () => {
        await store.appendToStream(stream('i'), event('Created'), { expectedRevision: NO_STREAM });
        const batch = [event('Rotated'), event('Renamed')];
        const written = await store.appendToStream(stream('i'), batch, { expectedRevision: 0n });
        await store.appendToStream(stream('i'), event('Later'), { expectedRevision: 2n });
        const repeated = await store.appendToStream(stream('i'), batch, { expectedRevision: 0n });
        expect(repeated.nextExpectedRevision).toBe(2n);
        const stored = await collect(store.readStream(stream('i')));
        expect(stored.map((e) => e.type)).toEqual(['Created', 'Rotated', 'Renamed', 'Later']);
        // The position is the last event's, as a first write's is: read-your-writes waits for it.
        expect(repeated.position).toEqual(written.position);
        expect(comparePositions(repeated.position as Position, (stored[2] as RecordedEvent).position)).toBe(0);
      });

      it('checks every id: a batch whose first event is there but not the rest is WrongExpectedVersionError and writes nothing', async () => {
        await store.appendToStream(stream('j'), event('Created'), { expectedRevision: NO_STREAM });
        const rotated = event('Rotated');
        await store.appendToStream(stream('j'), [rotated, event('Renamed')], { expectedRevision: 0n });
        const partial = await rejection(store.appendToStream(stream('j'), [rotated, event('Other')], { expectedRevision: 0n }));
        expect(partial).toBeInstanceOf(WrongExpectedVersionError);
        expect(partial).toMatchObject({ expectedVersion: 0n, actualVersion: 2n });
        const longer = await rejection(store.appendToStream(stream('j'), [rotated, event('Renamed'), event('Extra')], { expectedRevision: 0n }));
        expect(longer).toBeInstanceOf(WrongExpectedVersionError);
        expect((await collect(store.readStream(stream('j')))).map((e) => e.type)).toEqual(['Created', 'Rotated', 'Renamed']);
      });

      it('respects the expected revision on a repeat: the same ids where that revision does not put them are WrongExpectedVersionError', async () => {
        const created = event('Created');
        await store.appendToStream(stream('k'), created, { expectedRevision: NO_STREAM });
        await store.appendToStream(stream('k'), event('Renamed'), { expectedRevision: 0n });
        const elsewhere = await rejection(store.appendToStream(stream('k'), created, { expectedRevision: 0n }));
        expect(elsewhere).toBeInstanceOf(WrongExpectedVersionError);
        expect(elsewhere).toMatchObject({ expectedVersion: 0n, actualVersion: 1n });
        expect(await collect(store.readStream(stream('k')))).toHaveLength(2);
      });

      it('never answers a raw driver error for an id another stream holds, and leaves that stream alone', async () => {
        const shared = event('Created');
        await store.appendToStream(stream('l'), shared, { expectedRevision: NO_STREAM });
        const outcome = await store.appendToStream(stream('m'), shared, { expectedRevision: NO_STREAM }).then(() => 'appended', (error: unknown) => error);
        // EventStoreDB appends it (ids are not unique across streams); the embedded log refuses it by name.
        if (outcome !== 'appended') expect(outcome).toBeInstanceOf(EventIdInUseError);
        expect((await collect(store.readStream(stream('l')))).map((e) => e.id)).toEqual([shared.id]);
      });
    });

    describe('readStream', () => {
      const fill = async () => {
        const events = [0, 1, 2, 3].map((n) => event(`E${n}`, { n }));
        await store.appendToStream(stream('r'), events, { expectedRevision: NO_STREAM });
        return events;
      };

      it('reads a stream forwards with revisions, ids, data, metadata and creation time', async () => {
        const before = Date.now();
        const written = await fill();
        const read = await collect(store.readStream(stream('r')));
        expect(read.map((e) => [e.revision, e.type, e.data])).toEqual([
          [0n, 'E0', { n: 0 }],
          [1n, 'E1', { n: 1 }],
          [2n, 'E2', { n: 2 }],
          [3n, 'E3', { n: 3 }],
        ]);
        const first = read[0] as RecordedEvent;
        expect(first).toMatchObject({ streamId: stream('r'), id: written[0]?.id, isJson: true });
        expect(first.metadata).toEqual({ actor: 'alice', correlationId: 'req-1', causationId: 'req-1', schemaVersion: 1 });
        expect(first.created).toBeInstanceOf(Date);
        expect(first.created.getTime()).toBeGreaterThanOrEqual(before - 5000); // server clocks may differ a little
      });

      it('reads backwards, from a revision, and at most maxCount events', async () => {
        await fill();
        const revisions = async (options: Parameters<EventStore['readStream']>[1]) => (await collect(store.readStream(stream('r'), options))).map((e) => e.revision);
        expect(await revisions({ direction: BACKWARDS, fromRevision: END })).toEqual([3n, 2n, 1n, 0n]);
        expect(await revisions({ fromRevision: 2n })).toEqual([2n, 3n]);
        expect(await revisions({ direction: BACKWARDS, fromRevision: 1n })).toEqual([1n, 0n]);
        expect(await revisions({ maxCount: 2 })).toEqual([0n, 1n]);
        expect(await revisions({ direction: BACKWARDS, fromRevision: END, maxCount: 1 })).toEqual([3n]);
      });

      it('throws StreamNotFoundError for a stream that does not exist', async () => {
        const error = await rejection(collect(store.readStream(stream('missing'))));
        expect(error).toBeInstanceOf(StreamNotFoundError);
        expect(error).toMatchObject({ streamName: stream('missing') });
      });
    });

    describe('readAll', () => {
      it('reads the global log backwards from END: the newest event first, positions descending', async () => {
        await store.appendToStream(stream('x'), event('Older'), { expectedRevision: NO_STREAM });
        await store.appendToStream(stream('y'), event('Newer'), { expectedRevision: NO_STREAM });
        // A shared server writes its own events too (statistics): look among the newest hundred.
        const newest = await collect(store.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 100 }));
        for (let i = 1; i < newest.length; i += 1) expect(comparePositions((newest[i - 1] as RecordedEvent).position, (newest[i] as RecordedEvent).position)).toBe(1);
        expect(newest.filter(ours).map((e) => e.type)).toEqual(['Newer', 'Older']);
      });
    });

    describe('subscribeToAll', () => {
      it('delivers from the start, in log order, only the streams the filter names, then live events after catching up', async () => {
        await store.appendToStream(stream('one'), event('A'), { expectedRevision: NO_STREAM });
        await store.appendToStream(`other${prefix}`, event('NotOurs'), { expectedRevision: NO_STREAM });
        const appended = await store.appendToStream(stream('two'), [event('B'), event('C')], { expectedRevision: NO_STREAM });
        const subscription = subscribe({ fromPosition: 'start', filter: streamNameFilter({ prefixes: [prefix] }) });
        const caughtUp = await take(subscription, 3);
        expect(caughtUp.map((e) => `${e.streamId.slice(prefix.length)}:${e.type}`)).toEqual(['one:A', 'two:B', 'two:C']);
        expect(comparePositions((caughtUp[1] as RecordedEvent).position, (caughtUp[2] as RecordedEvent).position)).toBe(-1);
        // Read-your-writes rests on this: an append's position is reached once its events are delivered.
        expect(comparePositions((caughtUp[2] as RecordedEvent).position, appended.position as Position)).toBeGreaterThanOrEqual(0);

        const live = take(subscription, 1);
        await new Promise((resolve) => setTimeout(resolve, 100));
        await store.appendToStream(stream('one'), event('Live'), { expectedRevision: 0n });
        expect((await live).map((e) => e.type)).toEqual(['Live']);
      });

      it('delivers from a position: only the events after it', async () => {
        const first = await store.appendToStream(stream('p'), event('Before'), { expectedRevision: NO_STREAM });
        await store.appendToStream(stream('p'), [event('After1'), event('After2')], { expectedRevision: 0n });
        const subscription = subscribe({ fromPosition: first.position as Position, filter: streamNameFilter({ prefixes: [prefix] }) });
        expect((await take(subscription, 2)).map((e) => e.type)).toEqual(['After1', 'After2']);
      });

      it('ends the iteration when unsubscribed, also while it waits for an event', async () => {
        await store.appendToStream(stream('u'), event('Only'), { expectedRevision: NO_STREAM });
        const subscription = store.subscribeToAll({ fromPosition: 'start', filter: streamNameFilter({ prefixes: [prefix] }) });
        const iterator = subscription[Symbol.asyncIterator]();
        let next = await iterator.next();
        while (!next.done && !next.value.event) next = await iterator.next();
        expect(next.done ? null : next.value.event?.type).toBe('Only');
        const waiting = iterator.next();
        await new Promise((resolve) => setTimeout(resolve, 100));
        await subscription.unsubscribe();
        await expect(waiting).resolves.toMatchObject({ done: true });
      });
    });
  });
}

/** A contract suite that needs a server is registered only when its URL is set; otherwise it says so and counts as nothing. */
export function whenServerConfigured(variable: 'EVENTSTORE_URL' | 'MONGODB_URL', suite: string, register: (url: string) => void): void {
  const url = process.env[variable];
  if (url) {
    register(url);
    return;
  }
  process.stderr.write(`NOT RUN: ${suite} contract suite (set ${variable}, e.g. after \`docker compose up -d eventstore mongo\`; see README "Production engines")\n`);
}

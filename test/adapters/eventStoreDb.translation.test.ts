import { PassThrough } from 'node:stream';
import * as client from '@eventstore/db-client';
import {
  clientConnectionString,
  fromClientAppendResult,
  fromClientError,
  fromClientResolvedEvent,
  toClientEvent,
  toClientFilter,
} from '../../src/adapters/eventstoredb/clientTranslation';
import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import type { EventStoreDbClient } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import type { ResolvedEvent } from '../../src/ports/eventStore';
import { EventStoreUnavailableError, NO_STREAM, STREAM_EXISTS, StreamNotFoundError, UndecodableEventError, WrongExpectedVersionError, streamNameFilter } from '../../src/ports/eventStore';
import { apiKeyStream, toEventData } from '../../src/eventLog/streams';

const metadata = { actor: 'alice', correlationId: 'req-1', causationId: 'req-1', schemaVersion: 1 };
const position = { commit: 1234n, prepare: 1230n };
const created = new Date('2026-11-25T08:00:00.000Z');

/** A record as the 6.x client yields it from a read or a subscription. */
const clientRecord = (overrides: object = {}) => ({
  streamId: apiKeyStream('k1'),
  id: '0b9f1f0e-8a51-4b7e-9d53-7e0f6a0c2a11',
  isJson: true,
  revision: 3n,
  type: 'ApiKeyRenamed',
  created,
  data: { keyId: 'k1', name: 'staging' },
  metadata,
  position,
  ...overrides,
});

describe('EventStoreDB: mapping between domain events and the client\'s', () => {
  it('writes a domain event as the client\'s JSON event: same id, type, data and metadata', () => {
    const eventData = toEventData({ type: 'ApiKeyRenamed', data: { keyId: 'k1', name: 'staging' } }, metadata);
    const written = toClientEvent(eventData);
    expect(written).toEqual({ id: eventData.id, contentType: 'application/json', type: 'ApiKeyRenamed', data: { keyId: 'k1', name: 'staging' }, metadata });
  });

  it('reads the client\'s record as the port\'s: stream, revision, position, created, metadata', () => {
    expect(fromClientResolvedEvent({ event: clientRecord() as never, commitPosition: 1234n })).toEqual({
      commitPosition: 1234n,
      event: { streamId: 'apiKey-k1', id: '0b9f1f0e-8a51-4b7e-9d53-7e0f6a0c2a11', revision: 3n, type: 'ApiKeyRenamed', data: { keyId: 'k1', name: 'staging' }, metadata, isJson: true, created, position },
    });
  });

  it('stands in the commit position when the server sent no event position (servers before 22.6)', () => {
    const resolved = fromClientResolvedEvent({ event: clientRecord({ position: undefined }) as never, commitPosition: 99n });
    expect(resolved.event?.position).toEqual({ commit: 99n, prepare: 99n });
  });

  it('passes events it cannot represent (binary, such as system events in $all) without `event`, and drops non-JSON metadata', () => {
    expect(fromClientResolvedEvent({ event: clientRecord({ isJson: false, data: new Uint8Array([1]) }) as never, commitPosition: 7n })).toEqual({ commitPosition: 7n });
    expect(fromClientResolvedEvent({})).toEqual({});
    expect(fromClientResolvedEvent({ event: clientRecord({ metadata: new Uint8Array([1, 2]) }) as never }).event?.metadata).toBeUndefined();
  });

  it('returns the append result with the next expected revision and position', () => {
    expect(fromClientAppendResult({ success: true, nextExpectedRevision: 4n, position }, 's', 3n)).toEqual({ success: true, nextExpectedRevision: 4n, position });
    expect(fromClientAppendResult({ success: true, nextExpectedRevision: 0n }, 's', NO_STREAM)).toEqual({ success: true, nextExpectedRevision: 0n });
  });

  it('turns a result the client reports as failed (throwOnAppendFailure=false) into WrongExpectedVersionError, never a success', () => {
    expect(() => fromClientAppendResult({ success: false, nextExpectedRevision: 5n, position: undefined }, 'apiKey-k1', 3n)).toThrow(WrongExpectedVersionError);
    try {
      fromClientAppendResult({ success: false, nextExpectedRevision: -1n, position: undefined }, 'apiKey-k1', STREAM_EXISTS);
    } catch (error) {
      expect(error).toMatchObject({ streamName: 'apiKey-k1', expectedVersion: STREAM_EXISTS, actualVersion: NO_STREAM });
    }
    expect.assertions(2);
  });

  it('turns the port\'s stream-name filter into the client\'s server-side filter', () => {
    expect(toClientFilter(streamNameFilter({ prefixes: ['apiKey-', 'account-'] }))).toMatchObject({ filterOn: 'streamName', prefixes: ['apiKey-', 'account-'] });
    expect(toClientFilter({ filterOn: 'eventType', prefixes: ['ApiKey'] })).toMatchObject({ filterOn: 'eventType', prefixes: ['ApiKey'] });
  });
});

describe('EventStoreDB: error translation', () => {
  it('translates WrongExpectedVersionError with stream, expected and actual revision', () => {
    const translated = fromClientError(new client.WrongExpectedVersionError(undefined, { streamName: 'apiKey-k1', expected: 2n, current: 5n }));
    expect(translated).toBeInstanceOf(WrongExpectedVersionError);
    expect(translated).toMatchObject({ streamName: 'apiKey-k1', expectedVersion: 2n, actualVersion: 5n });
    const noStream = fromClientError(new client.WrongExpectedVersionError(undefined, { streamName: 's', expected: STREAM_EXISTS, current: NO_STREAM }));
    expect(noStream).toMatchObject({ expectedVersion: STREAM_EXISTS, actualVersion: NO_STREAM });
  });

  it('reads an older server\'s numeric expectations (-1 no stream, -4 stream exists) as the port\'s names', () => {
    expect(fromClientError(new client.WrongExpectedVersionError(undefined, { streamName: 's', expected: -1n as never, current: 0n }))).toMatchObject({ expectedVersion: NO_STREAM, actualVersion: 0n });
    expect(fromClientError(new client.WrongExpectedVersionError(undefined, { streamName: 's', expected: -4n as never, current: -1n as never }))).toMatchObject({ expectedVersion: STREAM_EXISTS, actualVersion: NO_STREAM });
  });

  it('translates StreamNotFoundError with the stream name', () => {
    const translated = fromClientError(new client.StreamNotFoundError(undefined, 'apiKey-missing'));
    expect(translated).toBeInstanceOf(StreamNotFoundError);
    expect(translated).toMatchObject({ streamName: 'apiKey-missing' });
  });

  it.each([
    ['UnavailableError', new client.UnavailableError(undefined, '14 UNAVAILABLE: No connection established')],
    ['DeadlineExceededError', new client.DeadlineExceededError(undefined, '4 DEADLINE_EXCEEDED')],
    ['TimeoutError', new client.TimeoutError(undefined, 'timed out')],
    ['CancelledError', new client.CancelledError(undefined, '1 CANCELLED')],
    ['a raw gRPC UNAVAILABLE', Object.assign(new Error('14 UNAVAILABLE: connection dropped'), { code: 14 })],
    ['a failed discovery', new Error('Failed to discover after 10 attempts.')],
    ['"Server Is Busy" (an UnknownError to the client)', new client.UnknownError(undefined, 'Could not recognize Server Is Busy')],
    ['"Server Is Too Busy" as a raw gRPC status', Object.assign(new Error('2 UNKNOWN: Server Is Too Busy'), { code: 2 })],
    ['"Server Is Not Ready"', new client.UnknownError(undefined, 'Server Is Not Ready')],
  ])('translates %s into the retryable EventStoreUnavailableError, keeping the cause', (_name, error) => {
    const translated = fromClientError(error);
    expect(translated).toBeInstanceOf(EventStoreUnavailableError);
    expect((translated as Error).cause).toBe(error);
    expect((translated as Error).message).toMatch(/^EventStoreDB is unavailable/);
  });

  it('passes other errors through unchanged', () => {
    const denied = new client.AccessDeniedError(undefined, 'access denied');
    expect(fromClientError(denied)).toBe(denied);
    const bug = new TypeError('x is undefined');
    expect(fromClientError(bug)).toBe(bug);
  });
});

describe('EventStoreDB: connection strings', () => {
  it('accepts esdb:// and esdb+discover://, and renames KurrentDB\'s scheme for the 6.x client', () => {
    expect(clientConnectionString('esdb://localhost:2113?tls=false')).toBe('esdb://localhost:2113?tls=false');
    expect(clientConnectionString('esdb+discover://a,b,c:2113')).toBe('esdb+discover://a,b,c:2113');
    expect(clientConnectionString('kurrentdb://admin:changeit@localhost:2113?tls=false')).toBe('esdb://admin:changeit@localhost:2113?tls=false');
    expect(clientConnectionString('kurrentdb+discover://db:2113')).toBe('esdb+discover://db:2113');
    expect(() => client.EventStoreDBClient.connectionString(clientConnectionString('kurrentdb://localhost:2113?tls=false'))).not.toThrow();
  });

  it('refuses throwOnAppendFailure=false, however it is spelled: version conflicts would come back as successes', () => {
    expect(() => clientConnectionString('esdb://admin:changeit@localhost:2113?tls=false&throwOnAppendFailure=false')).toThrow(/throwOnAppendFailure=false.*admin:\*\*\*@/);
    expect(() => clientConnectionString('esdb://localhost:2113?Throw_On_Append_Failure=false')).toThrow(/throwOnAppendFailure/);
    expect(clientConnectionString('esdb://localhost:2113?throwOnAppendFailure=true')).toBe('esdb://localhost:2113?throwOnAppendFailure=true');
  });

  it('refuses another scheme without echoing a password', () => {
    expect(() => clientConnectionString('http://admin:secret@localhost:2113')).toThrow(/esdb:\/\/.*admin:\*\*\*@localhost/);
    expect(() => clientConnectionString('http://admin:secret@localhost:2113')).not.toThrow(/secret/);
  });

  it('names the server in messages without its password', () => {
    expect(EventStoreDbStore.connect('esdb://admin:changeit@localhost:2113?tls=false').description).toBe('EventStoreDB (esdb://admin:***@localhost:2113?tls=false)');
  });
});

/** A stand-in for the client's Readable results: what the adapter is given, and what it passed. */
function fakeClient(reads: { events?: object[]; error?: Error } = {}) {
  const calls: Record<string, unknown[]> = {};
  const readable = () => {
    const stream = new PassThrough({ objectMode: true });
    for (const event of reads.events ?? []) stream.write(event);
    if (reads.error) process.nextTick(() => stream.destroy(reads.error));
    else stream.end();
    return Object.assign(stream, { cancel: async () => undefined });
  };
  let subscription: PassThrough & { unsubscribe(): Promise<void> };
  const fake = {
    appendToStream: async (...args: unknown[]) => ((calls['appendToStream'] = args), { success: true, nextExpectedRevision: 1n, position }),
    readStream: (...args: unknown[]) => ((calls['readStream'] = args), readable()),
    readAll: (...args: unknown[]) => ((calls['readAll'] = args), readable()),
    subscribeToAll: (...args: unknown[]) => {
      calls['subscribeToAll'] = args;
      subscription = Object.assign(new PassThrough({ objectMode: true }), { unsubscribe: async () => undefined });
      return subscription;
    },
    dispose: async () => undefined,
  };
  return { client: fake as unknown as EventStoreDbClient, calls, subscription: () => subscription };
}

describe('EventStoreDbStore: a pass-through to the client', () => {
  it('appends JSON events with the expectedRevision it was given', async () => {
    const { client: fake, calls } = fakeClient();
    const store = new EventStoreDbStore(fake);
    const eventData = toEventData({ type: 'ApiKeyRenamed', data: { name: 'x' } }, metadata);
    expect(await store.appendToStream('apiKey-k1', eventData, { expectedRevision: 0n })).toEqual({ success: true, nextExpectedRevision: 1n, position });
    expect(calls['appendToStream']).toEqual(['apiKey-k1', [toClientEvent(eventData)], { expectedRevision: 0n }]);
  });

  it('translates an append refused for its revision', async () => {
    const fake = { ...fakeClient().client, appendToStream: async () => Promise.reject(new client.WrongExpectedVersionError(undefined, { streamName: 's', expected: NO_STREAM, current: 0n })) };
    await expect(new EventStoreDbStore(fake).appendToStream('s', [], { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(WrongExpectedVersionError);
  });

  it('reads a stream with the same options, and reports a missing stream as StreamNotFoundError', async () => {
    const { client: fake, calls } = fakeClient({ events: [{ event: clientRecord() }] });
    const read: ResolvedEvent[] = [];
    for await (const resolved of new EventStoreDbStore(fake).readStream('apiKey-k1', { fromRevision: 3n, maxCount: 1 })) read.push(resolved);
    expect(read.map((resolved) => resolved.event?.revision)).toEqual([3n]);
    expect(calls['readStream']).toEqual(['apiKey-k1', { fromRevision: 3n, maxCount: 1 }]);
    const missing = new EventStoreDbStore(fakeClient({ error: new client.StreamNotFoundError(undefined, 'apiKey-none') }).client);
    await expect((async () => {
      for await (const _resolved of missing.readStream('apiKey-none')) return;
    })()).rejects.toBeInstanceOf(StreamNotFoundError);
  });

  it('subscribes with a server-side filter, yields mapped events one at a time, and ends when unsubscribed', async () => {
    const { client: fake, calls, subscription } = fakeClient();
    const store = new EventStoreDbStore(fake);
    const subscribed = store.subscribeToAll({ fromPosition: position, filter: streamNameFilter({ prefixes: ['apiKey-'] }) });
    expect(calls['subscribeToAll']).toEqual([{ fromPosition: position, filter: expect.objectContaining({ filterOn: 'streamName', prefixes: ['apiKey-'] }) }]);
    const iterator = subscribed[Symbol.asyncIterator]();
    subscription().write({ event: clientRecord() });
    expect((await iterator.next()).value).toMatchObject({ event: { streamId: 'apiKey-k1', revision: 3n, position } });
    const waiting = iterator.next();
    await subscribed.unsubscribe();
    await expect(waiting).resolves.toEqual({ done: true, value: undefined });
  });

  it('stops a filtered subscription at a JSON event whose data does not parse, naming its stream and position (never passing over it)', async () => {
    const { client: fake, subscription } = fakeClient();
    const iterator = new EventStoreDbStore(fake).subscribeToAll({ filter: streamNameFilter({ prefixes: ['apiKey-'] }) })[Symbol.asyncIterator]();
    subscription().write({ event: clientRecord({ data: '{"keyId": ' }), commitPosition: 1234n }); // what the client yields for malformed JSON
    const stopped = iterator.next();
    await expect(stopped).rejects.toBeInstanceOf(UndecodableEventError);
    await expect(stopped).rejects.toMatchObject({ streamId: 'apiKey-k1', position, eventType: 'ApiKeyRenamed' });
  });

  it('ends a subscription with EventStoreUnavailableError when the connection drops', async () => {
    const { client: fake, subscription } = fakeClient();
    const iterator = new EventStoreDbStore(fake).subscribeToAll()[Symbol.asyncIterator]();
    const waiting = iterator.next();
    subscription().destroy(new client.UnavailableError(undefined, '14 UNAVAILABLE'));
    await expect(waiting).rejects.toBeInstanceOf(EventStoreUnavailableError);
  });
});

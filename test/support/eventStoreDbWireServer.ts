import * as grpc from '@grpc/grpc-js';
import { Any } from 'google-protobuf/google/protobuf/any_pb';
import { Empty as ProtobufEmpty } from 'google-protobuf/google/protobuf/empty_pb';
import { SupportedMethod, SupportedMethods } from '@eventstore/db-client/generated/serverfeatures_pb';
import { ServerFeaturesService } from '@eventstore/db-client/generated/serverfeatures_grpc_pb';
import { AllStreamPosition, Empty, StreamIdentifier, UUID, WrongExpectedVersion as WrongExpectedVersionDetails, Timeout } from '@eventstore/db-client/generated/shared_pb';
import { Status } from '@eventstore/db-client/generated/status_pb';
import { StreamsService } from '@eventstore/db-client/generated/streams_grpc_pb';
import { AppendReq, AppendResp, BatchAppendReq, BatchAppendResp, ReadReq, ReadResp } from '@eventstore/db-client/generated/streams_pb';

/**
 * A stand-in for EventStoreDB's gRPC streams service, built from the 6.2.1 client's own generated
 * stubs, for the wire-level suite: it answers the calls keyhub makes (read, append, batch append,
 * subscribe to $all) the way the server's protocol does, and lets a test inject the server
 * behaviours keyhub must survive (a connection's stream limit, a commit timeout after the write,
 * "Server Is Busy", reads that never answer). It is a model of the protocol, not of EventStoreDB:
 * what it proves is how keyhub uses the client.
 */

export interface StoredEvent {
  readonly stream: string;
  readonly revision: bigint;
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: Uint8Array;
  readonly customMetadata: Uint8Array;
  readonly position: bigint;
}

type Expected = { kind: 'any' } | { kind: 'no_stream' } | { kind: 'stream_exists' } | { kind: 'revision'; revision: bigint };
interface Proposed {
  id: string;
  type: string;
  contentType: string;
  data: Uint8Array;
  customMetadata: Uint8Array;
}

/** What the server does with the next append (a fault), after which it answers normally again. */
export type AppendFault =
  /** Writes the events, then answers as a commit timeout does (the write happened, the caller cannot know). */
  | 'timeout-after-commit'
  /** Writes nothing and answers "Server Is Busy" the way the server's gRPC layer does. */
  | 'busy'
  /** Writes nothing and never answers. */
  | 'silent';

export interface WireServerOptions {
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS (EventStoreDB's Kestrel allows 100). */
  maxConcurrentStreams?: number;
  /** Advertise BatchAppend in server features (servers from 21.10): the client then appends through it. */
  batchAppend?: boolean;
}

const POSITION_STEP = 100n;

const uuidString = (uuid: UUID | undefined): string => {
  if (!uuid) return '';
  if (!uuid.hasStructured()) return uuid.getString();
  const structured = uuid.getStructured() as UUID.Structured;
  const hex = (BigInt.asUintN(64, BigInt(structured.getMostSignificantBits())).toString(16).padStart(16, '0') + BigInt.asUintN(64, BigInt(structured.getLeastSignificantBits())).toString(16).padStart(16, '0'));
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
const streamName = (identifier: StreamIdentifier | undefined): string => Buffer.from(identifier?.getStreamName_asU8() ?? new Uint8Array()).toString('utf8');
const streamIdentifier = (name: string): StreamIdentifier => new StreamIdentifier().setStreamName(Buffer.from(name, 'utf8'));

export class EventStoreDbWireServer {
  readonly events: StoredEvent[] = [];
  /** Read calls (reads and subscriptions) the server has started and not yet finished or seen cancelled. */
  openReads = 0;
  appendCalls = 0;
  /** Of those, the ones that came through BatchAppend. */
  batchAppendCalls = 0;
  /** The faults the next appends meet, one each, in order. */
  readonly appendFaults: AppendFault[] = [];
  /** While true, reads are accepted and never answered (a server that hangs). */
  stallReads = false;
  private readonly server: grpc.Server;
  private readonly liveListeners = new Set<() => void>();
  private readonly silentCalls = new Set<{ cancel(): void }>();
  port = 0;

  constructor(options: WireServerOptions = {}) {
    this.server = new grpc.Server({ 'grpc.max_concurrent_streams': options.maxConcurrentStreams ?? 100 });
    this.server.addService(StreamsService, {
      read: (call: grpc.ServerWritableStream<ReadReq, ReadResp>) => this.read(call),
      append: (call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>) => this.append(call, callback),
      batchAppend: (call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>) => this.batchAppend(call),
    } as unknown as grpc.UntypedServiceImplementation);
    if (options.batchAppend) {
      this.server.addService(ServerFeaturesService, {
        getSupportedMethods: (_call: unknown, callback: grpc.sendUnaryData<SupportedMethods>) =>
          callback(
            null,
            new SupportedMethods()
              .setEventStoreServerVersion('24.10.4')
              .setMethodsList([new SupportedMethod().setServiceName('event_store.client.streams.Streams').setMethodName('BatchAppend')]),
          ),
      } as unknown as grpc.UntypedServiceImplementation);
    }
  }

  get url(): string {
    return `esdb://127.0.0.1:${this.port}?tls=false`;
  }

  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    return this;
  }

  async close(): Promise<void> {
    for (const call of this.silentCalls) call.cancel();
    this.server.forceShutdown();
  }

  /** Writes events as another application would (they are in $all, not in keyhub's streams). */
  seed(stream: string, count: number, size = 200): void {
    for (let i = 0; i < count; i += 1) {
      this.commit(stream, [{ id: crypto.randomUUID(), type: 'Foreign', contentType: 'application/json', data: Buffer.from(JSON.stringify({ pad: 'x'.repeat(size) })), customMetadata: new Uint8Array() }]);
    }
  }

  streamEvents(stream: string): StoredEvent[] {
    return this.events.filter((event) => event.stream === stream);
  }

  private currentRevision(stream: string): bigint | null {
    const events = this.streamEvents(stream);
    return events.length === 0 ? null : (events[events.length - 1] as StoredEvent).revision;
  }

  private commit(stream: string, proposed: Proposed[]): { revision: bigint; position: bigint } {
    let revision = this.currentRevision(stream) ?? -1n;
    for (const event of proposed) {
      revision += 1n;
      this.events.push({ stream, revision, ...event, position: BigInt(this.events.length + 1) * POSITION_STEP });
    }
    for (const listener of this.liveListeners) listener();
    return { revision, position: (this.events[this.events.length - 1] as StoredEvent).position };
  }

  /**
   * EventStoreDB's append decision: an append whose ids are already the stream's events right
   * after the expected revision is a repeat and answers the first write's result; otherwise the
   * expected revision must match the stream's.
   */
  private decideAppend(stream: string, expected: Expected, proposed: Proposed[]): { ok: { revision: bigint; position: bigint } } | { wrong: bigint | null } {
    const current = this.currentRevision(stream);
    const streamEvents = this.streamEvents(stream);
    const firstIndex = expected.kind === 'revision' ? Number(expected.revision) + 1 : expected.kind === 'no_stream' ? 0 : streamEvents.findIndex((event) => event.id === proposed[0]?.id);
    const already = firstIndex >= 0 ? streamEvents.slice(firstIndex, firstIndex + proposed.length) : [];
    if (already.length === proposed.length && proposed.length > 0 && already.every((event, i) => event.id === proposed[i]?.id)) {
      const last = already[already.length - 1] as StoredEvent;
      return { ok: { revision: last.revision, position: last.position } };
    }
    const matches =
      expected.kind === 'any' ||
      (expected.kind === 'no_stream' && current === null) ||
      (expected.kind === 'stream_exists' && current !== null) ||
      (expected.kind === 'revision' && current === expected.revision);
    if (!matches) return { wrong: current };
    return { ok: this.commit(stream, proposed) };
  }

  private read(call: grpc.ServerWritableStream<ReadReq, ReadResp>): void {
    this.openReads += 1;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.openReads -= 1;
    };
    call.on('cancelled', finish);
    call.on('close', finish);
    if (this.stallReads) return;
    const options = call.request.getOptions() as ReadReq.Options;
    const backwards = options.getReadDirection() === 1;
    let selected: StoredEvent[];
    if (options.hasStream()) {
      const streamOptions = options.getStream() as ReadReq.Options.StreamOptions;
      const name = streamName(streamOptions.getStreamIdentifier());
      const events = this.streamEvents(name);
      if (events.length === 0) {
        call.write(new ReadResp().setStreamNotFound(new ReadResp.StreamNotFound().setStreamIdentifier(streamIdentifier(name))));
        call.end();
        finish();
        return;
      }
      const from = streamOptions.hasRevision() ? BigInt(streamOptions.getRevision()) : null;
      selected = backwards
        ? events.filter((event) => streamOptions.hasEnd() || from === null || event.revision <= from).reverse()
        : events.filter((event) => streamOptions.hasStart() || from === null || event.revision >= from);
    } else {
      const allOptions = options.getAll() as ReadReq.Options.AllOptions;
      const from = allOptions.hasPosition() ? BigInt((allOptions.getPosition() as ReadReq.Options.Position).getCommitPosition()) : null;
      if (options.hasSubscription()) {
        this.subscribe(call, allOptions.hasEnd() ? BigInt(this.events.length) * POSITION_STEP : from ?? 0n, options, () => finished);
        return;
      }
      selected = backwards
        ? this.events.filter((event) => allOptions.hasEnd() || from === null || event.position < from).reverse()
        : this.events.filter((event) => allOptions.hasStart() || from === null || event.position >= from);
    }
    const count = Number(options.getCount() || '0') || Number.MAX_SAFE_INTEGER;
    void this.writeAll(call, selected.slice(0, count).map((event) => this.toReadResp(event)), () => finished).then(() => {
      if (!finished) call.end();
    });
  }

  /** A catch-up subscription: a confirmation, the events after `after`, then every new one; until cancelled. */
  private subscribe(call: grpc.ServerWritableStream<ReadReq, ReadResp>, after: bigint, options: ReadReq.Options, finished: () => boolean): void {
    const prefixes = options.hasFilter() ? ((options.getFilter() as ReadReq.Options.FilterOptions).getStreamIdentifier()?.getPrefixList() ?? []) : [];
    call.write(new ReadResp().setConfirmation(new ReadResp.SubscriptionConfirmation().setSubscriptionId('wire')));
    let sentUpTo = after;
    let sending = false;
    const pump = async () => {
      if (sending || finished()) return;
      sending = true;
      while (!finished()) {
        const next = this.events.filter((event) => event.position > sentUpTo);
        if (next.length === 0) break;
        sentUpTo = (next[next.length - 1] as StoredEvent).position;
        await this.writeAll(call, next.filter((event) => prefixes.length === 0 || prefixes.some((prefix) => event.stream.startsWith(prefix))).map((event) => this.toReadResp(event)), finished);
      }
      sending = false;
    };
    this.liveListeners.add(pump);
    call.on('cancelled', () => this.liveListeners.delete(pump));
    void pump();
  }

  /** Writes with the call's backpressure (a paused reader stops the server), until done or cancelled. */
  private async writeAll(call: grpc.ServerWritableStream<ReadReq, ReadResp>, responses: ReadResp[], finished: () => boolean): Promise<void> {
    for (const response of responses) {
      if (finished()) return;
      if (!call.write(response)) {
        await new Promise<void>((resolve) => {
          const done = () => (call.off('drain', done), call.off('cancelled', done), resolve());
          call.on('drain', done);
          call.on('cancelled', done);
        });
      }
    }
  }

  private toReadResp(event: StoredEvent): ReadResp {
    const recorded = new ReadResp.ReadEvent.RecordedEvent()
      .setId(new UUID().setString(event.id))
      .setStreamIdentifier(streamIdentifier(event.stream))
      .setStreamRevision(event.revision.toString())
      .setCommitPosition(event.position.toString())
      .setPreparePosition(event.position.toString())
      .setData(event.data)
      .setCustomMetadata(event.customMetadata);
    const metadata = recorded.getMetadataMap();
    metadata.set('type', event.type);
    metadata.set('content-type', event.contentType);
    metadata.set('created', (BigInt(Date.now()) * 10_000n).toString());
    return new ReadResp().setEvent(new ReadResp.ReadEvent().setEvent(recorded).setCommitPosition(event.position.toString()));
  }

  private append(call: grpc.ServerReadableStream<AppendReq, AppendResp>, callback: grpc.sendUnaryData<AppendResp>): void {
    this.appendCalls += 1;
    let stream = '';
    let expected: Expected = { kind: 'any' };
    const proposed: Proposed[] = [];
    call.on('data', (request: AppendReq) => {
      if (request.hasOptions()) {
        const options = request.getOptions() as AppendReq.Options;
        stream = streamName(options.getStreamIdentifier());
        expected = options.hasRevision() ? { kind: 'revision', revision: BigInt(options.getRevision()) } : options.hasNoStream() ? { kind: 'no_stream' } : options.hasStreamExists() ? { kind: 'stream_exists' } : { kind: 'any' };
      } else if (request.hasProposedMessage()) {
        proposed.push(toProposed(request.getProposedMessage() as AppendReq.ProposedMessage));
      }
    });
    call.on('end', () => {
      const fault = this.appendFaults.shift();
      if (fault === 'busy') return callback({ code: grpc.status.UNKNOWN, details: 'Server Is Busy' });
      if (fault === 'silent') return void this.silentCalls.add({ cancel: () => callback({ code: grpc.status.UNAVAILABLE, details: 'server shut down' }) });
      const decided = this.decideAppend(stream, expected, proposed);
      if (fault === 'timeout-after-commit') return callback({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Timeout' });
      if ('wrong' in decided) {
        const wrong = new AppendResp.WrongExpectedVersion();
        if (decided.wrong === null) wrong.setCurrentNoStream(new Empty());
        else wrong.setCurrentRevision(decided.wrong.toString());
        if (expected.kind === 'revision') wrong.setExpectedRevision(expected.revision.toString());
        else if (expected.kind === 'no_stream') wrong.setExpectedNoStream(new Empty());
        else if (expected.kind === 'stream_exists') wrong.setExpectedStreamExists(new Empty());
        else wrong.setExpectedAny(new Empty());
        return callback(null, new AppendResp().setWrongExpectedVersion(wrong));
      }
      const position = new AppendResp.Position().setCommitPosition(decided.ok.position.toString()).setPreparePosition(decided.ok.position.toString());
      callback(null, new AppendResp().setSuccess(new AppendResp.Success().setCurrentRevision(decided.ok.revision.toString()).setPosition(position)));
    });
  }

  private batchAppend(call: grpc.ServerDuplexStream<BatchAppendReq, BatchAppendResp>): void {
    const pending = new Map<string, { stream: string; expected: Expected; proposed: Proposed[] }>();
    call.on('data', (request: BatchAppendReq) => {
      const correlation = uuidString(request.getCorrelationId());
      let batch = pending.get(correlation);
      if (!batch) {
        const options = request.getOptions() as BatchAppendReq.Options;
        const expected: Expected = options.hasStreamPosition()
          ? { kind: 'revision', revision: BigInt(options.getStreamPosition()) }
          : options.hasNoStream()
            ? { kind: 'no_stream' }
            : options.hasStreamExists()
              ? { kind: 'stream_exists' }
              : { kind: 'any' };
        batch = { stream: streamName(options.getStreamIdentifier()), expected, proposed: [] };
        pending.set(correlation, batch);
      }
      for (const message of request.getProposedMessagesList()) batch.proposed.push(toProposed(message));
      if (!request.getIsFinal()) return;
      pending.delete(correlation);
      this.appendCalls += 1;
      this.batchAppendCalls += 1;
      const response = new BatchAppendResp().setCorrelationId(new UUID().setString(correlation)).setStreamIdentifier(streamIdentifier(batch.stream));
      const error = (message: string, details: Any) => call.write(response.setError(new Status().setCode(14).setMessage(message).setDetails(details)));
      const fault = this.appendFaults.shift();
      if (fault === 'busy') return void error('Server Is Busy', packed(new ProtobufEmpty(), 'google.protobuf.Empty'));
      if (fault === 'silent') return;
      const decided = this.decideAppend(batch.stream, batch.expected, batch.proposed);
      if (fault === 'timeout-after-commit') return void error('Timeout', packed(new Timeout(), 'event_store.client.Timeout'));
      if ('wrong' in decided) {
        const details = new WrongExpectedVersionDetails();
        if (decided.wrong === null) details.setCurrentNoStream(new ProtobufEmpty());
        else details.setCurrentStreamRevision(decided.wrong.toString());
        const expected = batch.expected;
        if (expected.kind === 'revision') details.setExpectedStreamPosition(expected.revision.toString());
        else if (expected.kind === 'no_stream') details.setExpectedNoStream(new ProtobufEmpty());
        else if (expected.kind === 'stream_exists') details.setExpectedStreamExists(new ProtobufEmpty());
        else details.setExpectedAny(new ProtobufEmpty());
        return void error('Wrong expected version', packed(details, 'event_store.client.WrongExpectedVersion'));
      }
      const success = new BatchAppendResp.Success()
        .setCurrentRevision(decided.ok.revision.toString())
        .setPosition(new AllStreamPosition().setCommitPosition(decided.ok.position.toString()).setPreparePosition(decided.ok.position.toString()));
      call.write(response.setSuccess(success));
    });
  }
}

function toProposed(message: AppendReq.ProposedMessage | BatchAppendReq.ProposedMessage): Proposed {
  const metadata = message.getMetadataMap();
  return {
    id: uuidString(message.getId()),
    type: metadata.get('type') ?? '',
    contentType: metadata.get('content-type') ?? 'application/octet-stream',
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

function packed(message: { serializeBinary(): Uint8Array }, typeName: string): Any {
  const any = new Any();
  any.pack(message.serializeBinary(), typeName);
  return any;
}

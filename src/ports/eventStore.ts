import { randomUUID } from 'node:crypto';

/**
 * The event store port: the subset of `@eventstore/db-client` 6.x's EventStoreDBClient that the
 * service uses, with the same names, option shapes and error types, so that the EventStoreDB
 * adapter is a thin pass-through and the embedded store behaves the way the real one does.
 */
export const NO_STREAM = 'no_stream';
export const ANY = 'any';
export const STREAM_EXISTS = 'stream_exists';
export const START = 'start';
export const END = 'end';
export const FORWARDS = 'forwards';
export const BACKWARDS = 'backwards';

export type AppendExpectedRevision = bigint | typeof NO_STREAM | typeof ANY | typeof STREAM_EXISTS;

/** A position in the global log ($all). Ordered by commit, then prepare. */
export interface Position {
  readonly commit: bigint;
  readonly prepare: bigint;
}

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };
export type JSONObject = { [key: string]: JSONValue };

export interface EventData {
  readonly id: string;
  readonly contentType: 'application/json';
  readonly type: string;
  readonly data: JSONObject;
  readonly metadata?: JSONObject;
}

/** Same signature as the client's `jsonEvent`. */
export const jsonEvent = (event: { type: string; data: JSONObject; metadata?: JSONObject; id?: string }): EventData => ({
  id: event.id ?? randomUUID(),
  contentType: 'application/json',
  type: event.type,
  data: event.data,
  ...(event.metadata ? { metadata: event.metadata } : {}),
});

export interface RecordedEvent {
  readonly streamId: string;
  readonly id: string;
  /** Position of the event in its stream, from 0. */
  readonly revision: bigint;
  readonly type: string;
  readonly data: JSONObject;
  readonly metadata: JSONObject | undefined;
  readonly isJson: true;
  readonly created: Date;
  readonly position: Position;
}

export interface ResolvedEvent {
  readonly event?: RecordedEvent;
  readonly commitPosition?: bigint;
}

export interface AppendResult {
  readonly success: true;
  readonly nextExpectedRevision: bigint;
  readonly position?: Position;
}

export interface AppendToStreamOptions {
  expectedRevision?: AppendExpectedRevision;
}

export interface ReadStreamOptions {
  fromRevision?: typeof START | typeof END | bigint;
  direction?: typeof FORWARDS | typeof BACKWARDS;
  maxCount?: number | bigint;
}

/** The shape of the client's `streamNameFilter` / `eventTypeFilter` results. */
export interface SubscriptionFilter {
  readonly filterOn: 'streamName' | 'eventType';
  readonly prefixes: readonly string[];
}
export const streamNameFilter = ({ prefixes }: { prefixes: string[] }): SubscriptionFilter => ({ filterOn: 'streamName', prefixes });

export interface SubscribeToAllOptions {
  fromPosition?: typeof START | typeof END | Position;
  filter?: SubscriptionFilter;
}

/** A catch-up subscription: iterate with `for await` (backpressure), stop with `unsubscribe()`. */
export interface AllStreamSubscription extends AsyncIterable<ResolvedEvent> {
  unsubscribe(): Promise<void>;
}

export interface ReadAllOptions {
  fromPosition?: typeof START | typeof END | Position;
  direction?: typeof FORWARDS | typeof BACKWARDS;
  maxCount?: number | bigint;
}

export interface EventStore {
  appendToStream(streamName: string, events: EventData | EventData[], options?: AppendToStreamOptions): Promise<AppendResult>;
  /** Throws StreamNotFoundError while iterating when the stream does not exist. */
  readStream(streamName: string, options?: ReadStreamOptions): AsyncIterable<ResolvedEvent>;
  /** Reads the global log ($all); includes other applications' and system events. */
  readAll(options?: ReadAllOptions): AsyncIterable<ResolvedEvent>;
  subscribeToAll(options?: SubscribeToAllOptions): AllStreamSubscription;
  dispose(): Promise<void>;
}

export class WrongExpectedVersionError extends Error {
  constructor(
    readonly streamName: string,
    readonly expectedVersion: AppendExpectedRevision,
    readonly actualVersion: bigint | typeof NO_STREAM,
  ) {
    super(`Wrong expected revision on ${streamName}: expected ${String(expectedVersion)}, actual ${String(actualVersion)}`);
    this.name = 'WrongExpectedVersionError';
  }
}

export class StreamNotFoundError extends Error {
  constructor(readonly streamName: string) {
    super(`${streamName} not found`);
    this.name = 'StreamNotFoundError';
  }
}

/**
 * An event id that is already another stream's (the embedded log keeps ids unique across the log;
 * EventStoreDB accepts such an append). Nothing was written.
 */
export class EventIdInUseError extends Error {
  constructor(
    readonly streamName: string,
    readonly eventId: string,
  ) {
    super(`event id ${eventId} is already used outside ${streamName}'s append`);
    this.name = 'EventIdInUseError';
  }
}

/** The store could not be reached or did not answer: the write may be retried. */
export class EventStoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}

/**
 * An event in the log that cannot be read as what it claims to be (its JSON does not parse, or its
 * shape is not one a projection understands). Retrying cannot help: whoever reads the log in order
 * must stop at it and say where it is.
 */
export class UndecodableEventError extends Error {
  constructor(
    readonly streamId: string,
    readonly position: Position,
    readonly eventType: string | null,
    cause: unknown,
  ) {
    super(`the event at position ${position.commit} in stream ${streamId}${eventType ? ` (${eventType})` : ''} cannot be decoded: ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'UndecodableEventError';
  }
}

export const comparePositions = (a: Position, b: Position): number =>
  a.commit === b.commit ? (a.prepare === b.prepare ? 0 : a.prepare < b.prepare ? -1 : 1) : a.commit < b.commit ? -1 : 1;

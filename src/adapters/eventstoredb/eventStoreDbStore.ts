import type { AllStreamResolvedEvent, EventStoreDBClient, ResolvedEvent as ClientResolvedEvent } from '@eventstore/db-client';
import * as client from '@eventstore/db-client';
import type {
  AllStreamSubscription,
  AppendResult,
  AppendToStreamOptions,
  EventData,
  EventStore,
  ReadAllOptions,
  ReadStreamOptions,
  ResolvedEvent,
  SubscribeToAllOptions,
} from '../../ports/eventStore';
import { ANY, BACKWARDS, END, EventStoreUnavailableError } from '../../ports/eventStore';
import {
  clientConnectionString,
  fromClientAppendResult,
  fromClientError,
  fromClientResolvedEvent,
  undecodableEventIn,
  toClientEvent,
  toClientFilter,
  translatingErrors,
} from './clientTranslation';
import { redactCredentials } from '../redactCredentials';

/** The part of the client the adapter calls (the real EventStoreDBClient, or a fake in unit tests). */
export type EventStoreDbClient = Pick<EventStoreDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'>;

/** A read as the client returns it: a Readable of events that only `cancel()` ends on the wire. */
type ClientRead = AsyncIterable<ClientResolvedEvent | AllStreamResolvedEvent> & { cancel(): Promise<void> };

export interface EventStoreDbDeadlines {
  /**
   * Longest wait for a read's next event. The client puts no deadline on reads, and a call that
   * waits for a free stream on a full connection, or on a server that stopped answering, would
   * otherwise wait forever.
   */
  readonly readIdleMs: number;
  /** Longest wait for an append's answer: the client waits forever on a batch append the server never answers. */
  readonly appendMs: number;
}

/** The client's own append deadline is 10 s; ours is a little longer, so the server's answer wins when there is one. */
export const DEFAULT_DEADLINES: EventStoreDbDeadlines = { readIdleMs: 10_000, appendMs: 12_000 };

/**
 * The event store on EventStoreDB: every call goes straight to @eventstore/db-client 6.x with the
 * same names and options; clientTranslation.ts converts errors and records. Two things are added
 * around the client: every read that is left before its end is cancelled (leaving a `for await`
 * over the client's Readable only pauses the gRPC call, and a connection carries at most 100 open
 * calls: Kestrel's limit), and reads and appends have deadlines.
 */
export class EventStoreDbStore implements EventStore {
  constructor(
    private readonly client: EventStoreDbClient,
    /** For messages: where the server is (no password). */
    readonly description = 'EventStoreDB',
    private readonly deadlines: EventStoreDbDeadlines = DEFAULT_DEADLINES,
  ) {}

  static connect(url: string, deadlines: EventStoreDbDeadlines = DEFAULT_DEADLINES): EventStoreDbStore {
    return new EventStoreDbStore(client.EventStoreDBClient.connectionString(clientConnectionString(url)), `EventStoreDB (${redactCredentials(url)})`, deadlines);
  }

  appendToStream(streamName: string, events: EventData | EventData[], options: AppendToStreamOptions = {}): Promise<AppendResult> {
    const batch = (Array.isArray(events) ? events : [events]).map(toClientEvent);
    return translatingErrors(async () =>
      fromClientAppendResult(
        await this.withinDeadline(this.client.appendToStream(streamName, batch, options), this.deadlines.appendMs, 'an append (it may have been written)'),
        streamName,
        options.expectedRevision ?? ANY,
      ),
    );
  }

  readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<ResolvedEvent> {
    return this.reading(() => this.client.readStream(streamName, options), this.deadlines.readIdleMs);
  }

  readAll(options: ReadAllOptions = {}): AsyncIterable<ResolvedEvent> {
    return this.reading(() => this.client.readAll(options), this.deadlines.readIdleMs);
  }

  /**
   * A client read as the port's: each event awaited within `idleMs`, and the gRPC call cancelled
   * whenever the consumer stops before the end (break, return, throw) or the deadline passes.
   */
  private async *reading(start: () => ClientRead, idleMs: number): AsyncGenerator<ResolvedEvent> {
    const read = start();
    const iterator = read[Symbol.asyncIterator]();
    let ended = false;
    try {
      for (;;) {
        const next = await this.withinDeadline(iterator.next(), idleMs, 'a read');
        if (next.done) {
          ended = true;
          return;
        }
        yield fromClientResolvedEvent(next.value);
      }
    } catch (error) {
      throw fromClientError(error);
    } finally {
      if (!ended) void read.cancel().catch(() => undefined);
      void iterator.return?.()?.catch(() => undefined);
    }
  }

  /** `promise`, or EventStoreUnavailableError after `ms` (what was pending is left to the caller's cancel). */
  private async withinDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EventStoreUnavailableError(`${this.description} did not answer ${what} within ${ms} ms`)), ms);
    });
    promise.catch(() => undefined); // a late failure after the deadline is not an unhandled rejection
    try {
      return await Promise.race([promise, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllStreamSubscription {
    const { filter, ...rest } = options;
    const subscription = this.client.subscribeToAll({ ...rest, ...(filter ? { filter: toClientFilter(filter) } : {}) });
    let unsubscribed = false;
    const unsubscribe = async () => {
      if (unsubscribed) return;
      unsubscribed = true;
      await subscription.unsubscribe();
      // Cancelling the gRPC call does not end the Readable: end it, so that a pending `for await` returns.
      subscription.destroy();
    };
    // `for await` over the client's Readable pulls one event at a time: the stream pauses while the consumer works.
    async function* iterate(): AsyncGenerator<ResolvedEvent> {
      try {
        for await (const resolved of subscription) {
          if (unsubscribed) return;
          // Filtered to streams the reader asked for: an undecodable event there stops it (unfiltered, it is passed over).
          const undecodable = filter ? undecodableEventIn(resolved) : null;
          if (undecodable) throw undecodable;
          yield fromClientResolvedEvent(resolved);
        }
      } catch (error) {
        if (unsubscribed) return; // the cancelled call's "premature close"
        throw fromClientError(error);
      } finally {
        void unsubscribe().catch(() => undefined); // a consumer that stops iterating ends the call too
      }
    }
    const iterator = iterate();
    return { [Symbol.asyncIterator]: () => iterator, unsubscribe };
  }

  /**
   * One round trip with a deadline of our own: a server that accepts the connection but never
   * answers would otherwise hang the first call forever (the client puts no deadline on reads).
   */
  async probe(timeoutMs: number): Promise<void> {
    try {
      for await (const _resolved of this.reading(() => this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 }), timeoutMs)) break;
    } catch (error) {
      if (error instanceof EventStoreUnavailableError) throw error;
      throw new EventStoreUnavailableError(`${this.description}: ${(error as Error).message}`, { cause: error });
    }
  }

  dispose(): Promise<void> {
    return this.client.dispose();
  }
}

import type { EventStoreDBClient } from '@eventstore/db-client';
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
import { BACKWARDS, END, EventStoreUnavailableError } from '../../ports/eventStore';
import {
  clientConnectionString,
  fromClientAppendResult,
  fromClientError,
  fromClientResolvedEvent,
  toClientEvent,
  toClientFilter,
  translatingErrors,
} from './clientTranslation';
import { redactCredentials } from '../redactCredentials';

/** The part of the client the adapter calls (the real EventStoreDBClient, or a fake in unit tests). */
export type EventStoreDbClient = Pick<EventStoreDBClient, 'appendToStream' | 'readStream' | 'readAll' | 'subscribeToAll' | 'dispose'>;

/**
 * The event store on EventStoreDB: every call goes straight to @eventstore/db-client 6.x with the
 * same names and options; clientTranslation.ts converts errors and records.
 */
export class EventStoreDbStore implements EventStore {
  constructor(
    private readonly client: EventStoreDbClient,
    /** For messages: where the server is (no password). */
    readonly description = 'EventStoreDB',
  ) {}

  static connect(url: string): EventStoreDbStore {
    return new EventStoreDbStore(client.EventStoreDBClient.connectionString(clientConnectionString(url)), `EventStoreDB (${redactCredentials(url)})`);
  }

  appendToStream(streamName: string, events: EventData | EventData[], options: AppendToStreamOptions = {}): Promise<AppendResult> {
    const batch = (Array.isArray(events) ? events : [events]).map(toClientEvent);
    return translatingErrors(async () => fromClientAppendResult(await this.client.appendToStream(streamName, batch, options)));
  }

  async *readStream(streamName: string, options: ReadStreamOptions = {}): AsyncIterable<ResolvedEvent> {
    try {
      for await (const resolved of this.client.readStream(streamName, options)) yield fromClientResolvedEvent(resolved);
    } catch (error) {
      throw fromClientError(error);
    }
  }

  async *readAll(options: ReadAllOptions = {}): AsyncIterable<ResolvedEvent> {
    try {
      for await (const resolved of this.client.readAll(options)) yield fromClientResolvedEvent(resolved);
    } catch (error) {
      throw fromClientError(error);
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllStreamSubscription {
    const { filter, ...rest } = options;
    const subscription = this.client.subscribeToAll({ ...rest, ...(filter ? { filter: toClientFilter(filter) } : {}) });
    let unsubscribed = false;
    // `for await` over the client's Readable pulls one event at a time: the stream pauses while the consumer works.
    async function* iterate(): AsyncGenerator<ResolvedEvent> {
      try {
        for await (const resolved of subscription) {
          if (unsubscribed) return;
          yield fromClientResolvedEvent(resolved);
        }
      } catch (error) {
        if (unsubscribed) return; // the cancelled call's "premature close"
        throw fromClientError(error);
      }
    }
    const iterator = iterate();
    return {
      [Symbol.asyncIterator]: () => iterator,
      unsubscribe: async () => {
        if (unsubscribed) return;
        unsubscribed = true;
        await subscription.unsubscribe();
        // Cancelling the gRPC call does not end the Readable: end it, so that a pending `for await` returns.
        subscription.destroy();
      },
    };
  }

  /**
   * One round trip with a deadline of our own: a server that accepts the connection but never
   * answers would otherwise hang the first call forever (the client puts no deadline on reads).
   */
  async probe(timeoutMs: number): Promise<void> {
    const read = this.client.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EventStoreUnavailableError(`${this.description} did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([
        (async () => {
          for await (const _resolved of read) break;
        })(),
        timedOut,
      ]);
    } catch (error) {
      const translated = fromClientError(error);
      throw translated instanceof EventStoreUnavailableError ? translated : new EventStoreUnavailableError(`${this.description}: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
      void read.cancel().catch(() => undefined);
    }
  }

  dispose(): Promise<void> {
    return this.client.dispose();
  }
}

import type { Decider } from '../domain/decider';
import type { AuditKey } from '../domain/audit/hashChain';
import { DomainError } from '../domain/errors';
import type { DomainEventShape, EventMetadata } from '../eventLog/streams';
import { chainLinkOf, toChainedEventData, toDomainEvent } from '../eventLog/streams';
import type { AppendResult, EventStore, Position } from '../ports/eventStore';
import { NO_STREAM, StreamNotFoundError, WrongExpectedVersionError } from '../ports/eventStore';

export interface HandledCommand<State, Event> {
  readonly events: Event[];
  /** The state after the new events. */
  readonly state: State;
  /** Where the events landed in the global log; null when the command was a no-op. */
  readonly position: Position | null;
}

export interface HandleOptions {
  metadata: EventMetadata;
  /**
   * How often to re-read and re-decide when another writer appended in between. Zero when the
   * caller named an expectedVersion (then a concurrent change is the caller's CONFLICT), and for
   * a creation (a concurrent creation under the same id is one).
   */
  retriesOnConflict: number;
}

export interface AggregatedStream<State> {
  readonly state: State;
  /** The stream's revision; null when there is no stream. */
  readonly revision: bigint | null;
  /** The last event's hash chain link, which the next append continues from. */
  readonly lastLink: string | null;
}

/**
 * The one place that speaks the store's protocol for commands, creations included: read the
 * stream, fold, decide, append with the revision that was read (NO_STREAM for a stream that does
 * not exist yet). A concurrent append makes the append fail instead of overwriting; the command is
 * then decided again on fresh state, or reported as CONFLICT.
 */
export interface CommandHandler {
  handle<State, Command, Event extends DomainEventShape>(
    streamName: string,
    decider: Decider<State, Command, Event>,
    command: Command,
    options: HandleOptions,
  ): Promise<HandledCommand<State, Event>>;
  /** Reads a stream and folds it into state, without deciding anything. */
  aggregate<State, Event extends DomainEventShape>(streamName: string, decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState'>): Promise<AggregatedStream<State>>;
}

/** `auditKey`: the key every new event's chain link is made with (AUDIT_HMAC_KEY); none: unkeyed links. */
export const commandHandler = (store: EventStore, auditKey: AuditKey | null = null): CommandHandler => ({
  handle: (streamName, decider, command, options) => handleCommand(store, streamName, decider, command, options, auditKey),
  aggregate: (streamName, decider) => aggregateStream(store, streamName, decider),
});

export async function aggregateStream<State, Event extends DomainEventShape>(
  store: EventStore,
  streamName: string,
  decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState'>,
): Promise<AggregatedStream<State>> {
  let state = decider.initialState();
  let revision: bigint | null = null;
  let lastLink: string | null = null;
  try {
    for await (const resolved of store.readStream(streamName)) {
      if (!resolved.event) continue;
      state = decider.evolve(state, toDomainEvent<Event>(resolved.event));
      revision = resolved.event.revision;
      lastLink = chainLinkOf(resolved.event) ?? null;
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return { state, revision, lastLink };
}

async function handleCommand<State, Command, Event extends DomainEventShape>(
  store: EventStore,
  streamName: string,
  decider: Decider<State, Command, Event>,
  command: Command,
  options: HandleOptions,
  auditKey: AuditKey | null,
): Promise<HandledCommand<State, Event>> {
  for (let attempt = 0; ; attempt += 1) {
    const { state, revision, lastLink } = await aggregateStream(store, streamName, decider);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null };
    let appended: AppendResult;
    try {
      appended = await store.appendToStream(streamName, toChainedEventData(events, options.metadata, lastLink, auditKey), {
        expectedRevision: revision ?? NO_STREAM,
      });
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      if (attempt >= options.retriesOnConflict) {
        throw new DomainError('CONFLICT', 'the key was changed concurrently; read it again and retry with its current version');
      }
      // Jittered, growing pause so that contending writers stop colliding in lockstep.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));
      continue;
    }
    return { events, state: events.reduce(decider.evolve, state), position: appended.position ?? null };
  }
}

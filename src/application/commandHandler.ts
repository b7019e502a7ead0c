import type { AuditKey } from '../domain/audit/hashChain';
import { DomainError } from '../domain/errors';
import type { AppendResult, EventStore, Position } from './ports/eventStore';
import { NO_STREAM, StreamNotFoundError, WrongExpectedVersionError } from './ports/eventStore';
import type { DomainEventShape, EventMetadata } from './streams';
import { chainLinkOf, toChainedEventData, toDomainEvent } from './streams';

export interface Decider<State, Command, Event extends DomainEventShape> {
  decide(command: Command, state: State): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}

export interface HandledCommand<State, Event> {
  readonly events: Event[];
  /** The state after the new events. */
  readonly state: State;
  /** Where the events landed in the global log; null when the command was a no-op. */
  readonly position: Position | null;
}

export interface HandleOptions {
  metadata: EventMetadata;
  /** The key the new events' chain links are made with; none: unkeyed links. */
  auditKey?: AuditKey | null;
  /**
   * How often to re-read and re-decide when another writer appended in between. Zero when the
   * caller named an expectedVersion: then a concurrent change is the caller's CONFLICT.
   */
  retriesOnConflict: number;
}

/**
 * Reads a stream and folds it into state. Returns the state, the stream's revision (null: no
 * stream) and the last event's hash chain link, which the next append continues from.
 */
export async function aggregateStream<State, Event extends DomainEventShape>(
  store: EventStore,
  streamName: string,
  decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState'>,
): Promise<{ state: State; revision: bigint | null; lastLink: string | null }> {
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

/**
 * The one place that speaks the store's protocol for commands: read the stream, fold, decide,
 * append with the revision that was read. A concurrent append makes the append fail instead of
 * overwriting; the command is then decided again on fresh state, or reported as CONFLICT.
 */
export async function handleCommand<State, Command, Event extends DomainEventShape>(
  store: EventStore,
  streamName: string,
  decider: Decider<State, Command, Event>,
  command: Command,
  options: HandleOptions,
): Promise<HandledCommand<State, Event>> {
  for (let attempt = 0; ; attempt += 1) {
    const { state, revision, lastLink } = await aggregateStream(store, streamName, decider);
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null };
    let appended: AppendResult;
    try {
      appended = await store.appendToStream(
        streamName,
        toChainedEventData(events, options.metadata, lastLink, options.auditKey ?? null),
        { expectedRevision: revision ?? NO_STREAM },
      );
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

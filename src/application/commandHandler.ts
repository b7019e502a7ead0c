import type { Decider } from '../domain/decider';
import type { AuditKey } from '../domain/audit/hashChain';
import { DomainError } from '../domain/errors';
import type { DomainEventShape, EventMetadata } from '../eventLog/streams';
import { chainLinkOf, toChainedEventData, toDomainEvent } from '../eventLog/streams';
import type { AppendExpectedRevision, AppendResult, EventData, EventStore, Position } from '../ports/eventStore';
import { BACKWARDS, EventStoreUnavailableError, NO_STREAM, StreamNotFoundError, WrongExpectedVersionError } from '../ports/eventStore';
import type { Idempotency } from './idempotency';
import { isWrittenBy } from './idempotency';
import type { Snapshot } from './streamSnapshots';
import { SNAPSHOT_EVERY, forgetSnapshot, isSnapshotted, readSnapshot, writeSnapshotInBackground } from './streamSnapshots';

export interface HandledCommand<State, Event> {
  /** True when the request (its Idempotency-Key) had already written its events: nothing was written now. */
  readonly replayed?: boolean;
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
  /**
   * The request's Idempotency-Key (its hashes are in `metadata`): a stream that already holds an
   * event the same request wrote within the window is answered as it stands, without deciding again.
   */
  idempotency?: Idempotency;
}

export interface AggregatedStream<State> {
  readonly state: State;
  /** The stream's revision; null when there is no stream. */
  readonly revision: bigint | null;
  /** The last event's hash chain link, which the next append continues from. */
  readonly lastLink: string | null;
  /** Whether an event of the stream was written by the request `idempotency` names. */
  readonly replayed: boolean;
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
  aggregate<State, Event extends DomainEventShape>(
    streamName: string,
    decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState' | 'evolveAll'>,
    idempotency?: Idempotency,
  ): Promise<AggregatedStream<State>>;
}

/** `auditKey`: the key every new event's chain link is made with (AUDIT_HMAC_KEY); none: unkeyed links. */
export const commandHandler = (store: EventStore, auditKey: AuditKey | null = null): CommandHandler => ({
  handle: (streamName, decider, command, options) => handleCommand(store, streamName, decider, command, options, auditKey),
  aggregate: (streamName, decider, idempotency) => aggregateStream(store, streamName, decider, idempotency),
});

/**
 * Folds a stream: from its latest snapshot (streamSnapshots.ts) plus the events after it, so a
 * command's cost does not grow with the stream's past; a fold that read SNAPSHOT_EVERY events or
 * more leaves a new snapshot behind. A request with an Idempotency-Key also looks back past the
 * snapshot, over the events of its window only.
 */
export async function aggregateStream<State, Event extends DomainEventShape>(
  store: EventStore,
  streamName: string,
  decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState' | 'evolveAll'>,
  idempotency?: Idempotency,
): Promise<AggregatedStream<State>> {
  let snapshot = await readSnapshot<State>(store, streamName, decider.evolve);
  let folded = await foldStream(store, streamName, decider, snapshot, idempotency);
  if (!folded) {
    if (snapshot) forgetSnapshot(store, streamName);
    snapshot = null; // not a snapshot of this stream's history: fold it all
    folded = (await foldStream(store, streamName, decider, null, idempotency)) as Folded<State>;
  }
  const { read, eventId, ...aggregated } = folded;
  if (snapshot && idempotency && !aggregated.replayed) aggregated.replayed = await writtenBefore(store, streamName, snapshot.revision, idempotency);
  if (read >= SNAPSHOT_EVERY && aggregated.revision !== null && eventId !== null && isSnapshotted(decider.evolve)) {
    writeSnapshotInBackground(store, streamName, decider.evolve, { state: aggregated.state, revision: aggregated.revision, eventId, lastLink: aggregated.lastLink });
  }
  return aggregated;
}

interface Folded<State> {
  state: State;
  revision: bigint | null;
  lastLink: string | null;
  replayed: boolean;
  /** Events folded (past the snapshot), and the id of the last one folded. */
  read: number;
  eventId: string | null;
}

/** Folds the events after `snapshot` onto its state (all of them without one); null when the event at the snapshot's revision is not the one it names. */
async function foldStream<State, Event extends DomainEventShape>(
  store: EventStore,
  streamName: string,
  decider: Pick<Decider<State, unknown, Event>, 'evolve' | 'initialState' | 'evolveAll'>,
  snapshot: Snapshot<State> | null,
  idempotency?: Idempotency,
): Promise<Folded<State> | null> {
  const folded: Folded<State> = {
    state: snapshot ? snapshot.state : decider.initialState(),
    revision: snapshot ? snapshot.revision : null,
    lastLink: snapshot ? snapshot.lastLink : null,
    replayed: false,
    read: 0,
    eventId: snapshot ? snapshot.eventId : null,
  };
  let checked = snapshot === null;
  const events: Event[] = [];
  try {
    for await (const resolved of store.readStream(streamName, snapshot ? { fromRevision: snapshot.revision } : {})) {
      const event = resolved.event;
      if (!event) continue;
      if (!checked) {
        if (event.revision !== snapshot?.revision || event.id !== snapshot.eventId) return null;
        checked = true;
        continue;
      }
      events.push(toDomainEvent<Event>(event));
      folded.revision = event.revision;
      folded.eventId = event.id;
      folded.lastLink = chainLinkOf(event) ?? null;
      if (idempotency && !folded.replayed) folded.replayed = isWrittenBy(event, idempotency);
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
    if (snapshot) return null;
  }
  if (!checked) return null;
  folded.state = decider.evolveAll ? decider.evolveAll(folded.state, events) : events.reduce(decider.evolve, folded.state);
  folded.read = events.length;
  return folded;
}

/** Whether the request `idempotency` names wrote an event at or before `revision`, looking back no further than its window. */
async function writtenBefore(store: EventStore, streamName: string, revision: bigint, idempotency: Idempotency): Promise<boolean> {
  for await (const resolved of store.readStream(streamName, { direction: BACKWARDS, fromRevision: revision })) {
    const event = resolved.event;
    if (!event) continue;
    if (event.created < idempotency.notBefore) return false;
    if (isWrittenBy(event, idempotency)) return true;
  }
  return false;
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
    const { state, revision, lastLink, replayed } = await aggregateStream(store, streamName, decider, options.idempotency);
    if (replayed) return { replayed, events: [], state, position: null };
    const events = decider.decide(command, state);
    if (events.length === 0) return { events, state, position: null };
    let appended: AppendResult;
    try {
      appended = await appendSafely(store, streamName, toChainedEventData(events, options.metadata, lastLink, auditKey), revision ?? NO_STREAM);
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

/** Pauses before each retry of an append whose outcome is unclear. */
const UNCLEAR_RETRY_DELAYS_MS = [50, 250];

/**
 * An append that failed without saying whether it was written (a commit timeout, a connection lost
 * after sending) and whose stream could not be read back either: its events may be in the log.
 * Retryable for the client, but nothing may be undone on the strength of it (an account slot stays).
 */
export class AppendOutcomeUnknownError extends EventStoreUnavailableError {
  constructor(streamName: string, cause: unknown) {
    super(`whether the append to ${streamName} was written is unknown`, { cause });
    this.name = 'AppendOutcomeUnknownError';
  }
}

/**
 * Appends so that a retry can never write twice. An append that fails unclearly
 * (EventStoreUnavailableError: it may have been committed) is retried with the very same events
 * (same ids) and expected revision: the store answers a repeat with the first write's result
 * (EventStoreDB's idempotency, and the embedded log's). If the store still does not answer, the
 * stream is read back: the events there are the answer; events not there mean the append failed;
 * an unreadable stream is AppendOutcomeUnknownError. A WrongExpectedVersionError after an unclear
 * failure means another writer's events are where ours would be: ours were not written.
 */
export async function appendSafely(store: EventStore, streamName: string, events: EventData[], expectedRevision: AppendExpectedRevision): Promise<AppendResult> {
  let failure: EventStoreUnavailableError | null = null;
  for (let attempt = 0; attempt <= UNCLEAR_RETRY_DELAYS_MS.length; attempt += 1) {
    try {
      return await store.appendToStream(streamName, events, { expectedRevision });
    } catch (error) {
      if (!(error instanceof EventStoreUnavailableError)) throw error;
      failure = error;
      const delay = UNCLEAR_RETRY_DELAYS_MS[attempt];
      if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
  let found: AppendResult | null;
  try {
    found = await appendedAlready(store, streamName, events, expectedRevision);
  } catch (error) {
    throw new AppendOutcomeUnknownError(streamName, failure ?? error);
  }
  if (found) return found;
  throw failure as EventStoreUnavailableError;
}

/** The result of `events` if the stream holds them, in order, where `expectedRevision` puts them; null if it does not. */
async function appendedAlready(store: EventStore, streamName: string, events: EventData[], expectedRevision: AppendExpectedRevision): Promise<AppendResult | null> {
  const fromRevision = typeof expectedRevision === 'bigint' ? expectedRevision + 1n : expectedRevision === NO_STREAM ? 0n : null;
  const ids = events.map((event) => event.id);
  const window: Array<{ id: string; revision: bigint; position: Position }> = [];
  try {
    for await (const resolved of store.readStream(streamName, fromRevision === null ? {} : { fromRevision })) {
      const event = resolved.event;
      if (!event) continue;
      if (window.length === 0 && event.id !== ids[0]) {
        if (fromRevision !== null) return null; // another writer's event is where ours would be
        continue;
      }
      window.push({ id: event.id, revision: event.revision, position: event.position });
      if (window.length === ids.length) break;
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return null;
    throw error;
  }
  if (window.length !== ids.length || window.some((event, i) => event.id !== ids[i])) return null;
  const last = window[window.length - 1] as (typeof window)[number];
  return { success: true, nextExpectedRevision: last.revision, position: last.position };
}

import type { AuditKeyring, ChainProblem } from '../domain/audit/hashChain';
import { UNKEYED, verifyChain } from '../domain/audit/hashChain';
import { isApiKeyEvent } from '../domain/apiKey/events';
import type { EventStore, Position, RecordedEvent } from '../ports/eventStore';
import { BACKWARDS, END, StreamNotFoundError } from '../ports/eventStore';
import { apiKeyStream, chainLinkOf, keyIdOfStream } from '../eventLog/streams';

/** Every event of a key's stream, oldest first; empty when there is none. */
export async function readKeyEvents(store: EventStore, keyId: string): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  try {
    for await (const resolved of store.readStream(apiKeyStream(keyId))) if (resolved.event) events.push(resolved.event);
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return events;
}

export interface HistoryVerificationView {
  keyId: string;
  intact: boolean;
  eventCount: number;
  /** The newest event's link: record it elsewhere to prove later that nothing was cut off the end. */
  headLink: string | null;
  /** The version of the first event whose content or link was changed in the store; null when intact. */
  firstBrokenVersion: number | null;
  firstBrokenEventId: string | null;
  problem: ChainProblem | null;
  /** Events (up to the first break) whose link is unkeyed: a store writer could have rewritten those, with every later unkeyed link. */
  unkeyedEventCount: number;
}

/** Recomputes a key's hash chain from its stored events, with the audit keys for keyed links. */
export function verifyKeyHistory(keyId: string, events: readonly RecordedEvent[], keyring: AuditKeyring = UNKEYED): HistoryVerificationView {
  const actorOf = (event: RecordedEvent) => (typeof event.metadata?.['actor'] === 'string' ? event.metadata['actor'] : undefined);
  const result = verifyChain(
    events.map((event) => ({ id: event.id, type: event.type, data: event.data, actor: actorOf(event), link: chainLinkOf(event) })),
    keyring,
  );
  return {
    keyId,
    intact: result.intact,
    eventCount: result.eventCount,
    headLink: result.headLink,
    unkeyedEventCount: result.unkeyedEventCount,
    firstBrokenVersion: result.intact ? null : result.firstBrokenIndex + 1,
    firstBrokenEventId: result.intact ? null : result.firstBrokenEventId,
    problem: result.intact ? null : result.problem,
  };
}

/** The newest position in the log (for progress), null for an empty log. */
export async function lastLogPosition(store: EventStore): Promise<Position | null> {
  for await (const resolved of store.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) {
    if (resolved.event) return resolved.event.position;
    if (resolved.commitPosition !== undefined) return { commit: resolved.commitPosition, prepare: resolved.commitPosition };
  }
  return null;
}

/**
 * Every lifecycle event of an account's keys, in log order, read from the whole log (on the
 * embedded store and on EventStoreDB alike). `since` drops events that happened before it;
 * `onRead` sees the position of every event read, for progress.
 */
export async function* accountKeyEvents(
  store: EventStore,
  accountId: string,
  options: { since?: Date | null; onRead?: (position: Position) => void } = {},
): AsyncGenerator<RecordedEvent> {
  const sinceMs = options.since ? options.since.getTime() : null;
  for await (const resolved of store.readAll()) {
    const event = resolved.event;
    if (!event) continue;
    options.onRead?.(event.position);
    if (keyIdOfStream(event.streamId) === null || !isApiKeyEvent(event) || event.data['accountId'] !== accountId) continue;
    if (sinceMs !== null && Date.parse(String(event.data['occurredAt'])) < sinceMs) continue;
    yield event;
  }
}

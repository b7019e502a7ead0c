import type {
  AllStreamResolvedEvent,
  AppendResult as ClientAppendResult,
  EventData as ClientEventData,
  Filter as ClientFilter,
  ResolvedEvent as ClientResolvedEvent,
} from '@eventstore/db-client';
import * as client from '@eventstore/db-client';
import type { AppendExpectedRevision, AppendResult, EventData, JSONObject, Position, RecordedEvent, ResolvedEvent, SubscriptionFilter } from '../../ports/eventStore';
import { ANY, EventStoreUnavailableError, NO_STREAM, STREAM_EXISTS, StreamNotFoundError, UndecodableEventError, WrongExpectedVersionError } from '../../ports/eventStore';
import { redactCredentials } from '../redactCredentials';

/**
 * The one place where @eventstore/db-client 6.x and the event-store port differ: error classes,
 * event records, positions and filters. Everything else in the adapter is a pass-through.
 */

/** gRPC status codes that mean "the server could not be reached or did not answer in time". */
const UNREACHABLE_GRPC_CODES = new Set([1 /* CANCELLED */, 4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

const SERVER_OVERLOADED = /server is (too )?busy|server is not ready/i;

/** The client's error → the port's error; anything the port has no name for passes through unchanged. */
export function fromClientError(error: unknown): unknown {
  if (error instanceof client.WrongExpectedVersionError) {
    return new WrongExpectedVersionError(error.streamName, expectedFromWire(error.expectedVersion), actualFromWire(error.actualVersion));
  }
  if (error instanceof client.StreamNotFoundError) return new StreamNotFoundError(error.streamName);
  if (
    error instanceof client.UnavailableError ||
    error instanceof client.DeadlineExceededError ||
    error instanceof client.TimeoutError ||
    error instanceof client.CancelledError ||
    error instanceof client.NotLeaderError
  ) {
    return new EventStoreUnavailableError(`EventStoreDB is unavailable: ${error.message}`, { cause: error });
  }
  // The server sheds load with "Server Is (Too) Busy" and answers "Server Is Not Ready" while it starts
  // or elects a leader; the client has no class for either and reports an UnknownError.
  if (error instanceof Error && SERVER_OVERLOADED.test(error.message)) {
    return new EventStoreUnavailableError(`EventStoreDB is unavailable: ${error.message}`, { cause: error });
  }
  // Errors the client did not convert: raw gRPC ones and failed connections (discovery, DNS).
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'number' && UNREACHABLE_GRPC_CODES.has(code)) {
    return new EventStoreUnavailableError(`EventStoreDB is unavailable: ${(error as Error).message}`, { cause: error });
  }
  if (error instanceof Error && /failed to discover|ECONNREFUSED|ENOTFOUND|EAI_AGAIN/i.test(error.message)) {
    return new EventStoreUnavailableError(`EventStoreDB is unavailable: ${error.message}`, { cause: error });
  }
  return error;
}

/** Older servers report the expectation as a number in the error's metadata: -1 no stream, -2 any, -4 stream exists. */
function expectedFromWire(expected: AppendExpectedRevision): AppendExpectedRevision {
  if (typeof expected !== 'bigint' || expected >= 0n) return expected;
  return expected === -1n ? NO_STREAM : expected === -4n ? STREAM_EXISTS : ANY;
}
const actualFromWire = (actual: bigint | typeof NO_STREAM): bigint | typeof NO_STREAM => (typeof actual === 'bigint' && actual < 0n ? NO_STREAM : actual);

/** Rethrows the translation of whatever `run` throws. */
export async function translatingErrors<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw fromClientError(error);
  }
}

/** The port's event → the client's, built with the client's own `jsonEvent` (so id, content type and metadata are its own). */
export const toClientEvent = (event: EventData): ClientEventData =>
  client.jsonEvent({ id: event.id, type: event.type, data: event.data, ...(event.metadata ? { metadata: event.metadata } : {}) });

/**
 * The client's append result → the port's. With `throwOnAppendFailure=false` the client reports a
 * wrong expected revision as `success: false` instead of throwing: that is the port's
 * WrongExpectedVersionError too (connections refuse the option; this is the second line).
 */
export function fromClientAppendResult(result: ClientAppendResult, streamName: string, expected: AppendExpectedRevision): AppendResult {
  if (!result.success) {
    const actual = result.nextExpectedRevision;
    throw new WrongExpectedVersionError(streamName, expected, actual < 0n ? NO_STREAM : actual);
  }
  return {
    success: true,
    nextExpectedRevision: result.nextExpectedRevision,
    ...(result.position ? { position: { commit: result.position.commit, prepare: result.position.prepare } } : {}),
  };
}

/**
 * Servers before 22.6 send no position for events read from a stream; the read's commit position
 * (or "unknown", the maximum) stands in. The service uses stream reads for their revisions only.
 */
const UNKNOWN_POSITION = 0xffff_ffff_ffff_ffffn;

const isJsonObject = (value: unknown): value is JSONObject => typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);

/**
 * A client read result → the port's. Events the port cannot represent (binary payloads, such as
 * EventStoreDB's own system events in $all) come back without `event`, like an unresolved link.
 */
export function fromClientResolvedEvent(resolved: ClientResolvedEvent | AllStreamResolvedEvent): ResolvedEvent {
  const recorded = resolved.event;
  const commitPosition = resolved.commitPosition;
  if (!recorded || !recorded.isJson || !isJsonObject(recorded.data)) return commitPosition === undefined ? {} : { commitPosition };
  const fallback = commitPosition ?? UNKNOWN_POSITION;
  const position: Position = recorded.position
    ? { commit: recorded.position.commit, prepare: recorded.position.prepare }
    : { commit: fallback, prepare: fallback };
  const event: RecordedEvent = {
    streamId: recorded.streamId,
    id: recorded.id,
    revision: recorded.revision,
    type: recorded.type,
    data: recorded.data,
    metadata: isJsonObject(recorded.metadata) ? recorded.metadata : undefined,
    isJson: true,
    created: recorded.created,
    position,
  };
  return commitPosition === undefined ? { event } : { event, commitPosition };
}

/**
 * A JSON event whose data is not a JSON object (the client hands back the raw text when it does not
 * parse), or null. Where a reader asked for these streams, it must stop at such an event rather
 * than pass over it as over a binary system event.
 */
export function undecodableEventIn(resolved: ClientResolvedEvent | AllStreamResolvedEvent): UndecodableEventError | null {
  const recorded = resolved.event;
  if (!recorded || !recorded.isJson || isJsonObject(recorded.data)) return null;
  const fallback = resolved.commitPosition ?? UNKNOWN_POSITION;
  const position: Position = recorded.position ? { commit: recorded.position.commit, prepare: recorded.position.prepare } : { commit: fallback, prepare: fallback };
  return new UndecodableEventError(recorded.streamId, position, recorded.type, new Error('its data is not a JSON object'));
}

export const toClientFilter = (filter: SubscriptionFilter): ClientFilter =>
  filter.filterOn === 'streamName' ? client.streamNameFilter({ prefixes: [...filter.prefixes] }) : client.eventTypeFilter({ prefixes: [...filter.prefixes] });

/**
 * The connection string the 6.x client understands. It parses only `esdb://` and
 * `esdb+discover://`; KurrentDB's `kurrentdb://` names the same protocol, so it is renamed.
 */
export function clientConnectionString(url: string): string {
  const renamed = url.replace(/^kurrentdb(\+discover)?:\/\//i, (_match, discover: string | undefined) => `esdb${discover ?? ''}://`);
  if (!/^esdb(\+discover)?:\/\//i.test(renamed)) throw new Error(`EVENTSTORE_URL must start with esdb:// or esdb+discover://, got ${redactCredentials(url)}`);
  // With it the client reports a wrong expected revision as a successful result: a lost write waiting to happen.
  if (connectionOptions(renamed).get('throwonappendfailure') === 'false') throw new Error(`EVENTSTORE_URL must not set throwOnAppendFailure=false: keyhub relies on version conflicts being errors (${redactCredentials(url)})`);
  return renamed;
}

/** The connection string's options, keys flattened the way the client reads them (case and `_`/`-` ignored). */
function connectionOptions(url: string): Map<string, string> {
  const query = url.split('?')[1] ?? '';
  return new Map(
    query
      .split('&')
      .filter(Boolean)
      .map((pair) => {
        const [key = '', value = ''] = pair.split('=');
        return [key.trim().toLowerCase().replace(/[_-]/g, ''), value] as const;
      }),
  );
}

import { createHash } from 'node:crypto';
import type { AccountState } from '../domain/account/account';
import type { AccountPolicy } from '../domain/account/policy';
import { accountDecider } from '../domain/account/account';
import { apiKeyDecider } from '../domain/apiKey/decider';
import type { ApiKeyState } from '../domain/apiKey/state';
import type { EventStore, JSONObject, JSONValue } from '../ports/eventStore';
import { ANY, BACKWARDS, END, StreamNotFoundError, jsonEvent } from '../ports/eventStore';

/**
 * Snapshots of a stream's folded state, so that a command reads the latest snapshot plus the
 * events after it instead of the whole stream. A snapshot lives in its own stream beside the one
 * it summarises (`keyhubSnapshot-<stream>`), written through the EventStore port, so it works on
 * the embedded log and on EventStoreDB alike; it is derived data (outside every prefix the
 * projections, feeds and audit follow), never trusted beyond what it can be checked against:
 * - it names the stream, the revision and the id of the event it folds up to: the tail read
 *   starts at that revision and drops the snapshot unless the event there has that id;
 * - its format names the state codec's version and a hash of the fold's source, so a change to
 *   `evolve` (a new event type, a new field) makes older snapshots ignored, not misread;
 * - a snapshot that does not decode is ignored. Ignored means: the stream is folded in full.
 */
export const SNAPSHOT_STREAM_PREFIX = 'keyhubSnapshot-';
export const snapshotStream = (streamName: string): string => `${SNAPSHOT_STREAM_PREFIX}${streamName}`;
export const SNAPSHOT_EVENT_TYPE = 'StreamSnapshotTaken';
/** A fold that read this many events past the latest snapshot writes a new one. */
export const SNAPSHOT_EVERY = 100;

/** How a stream's state becomes JSON and back. `version` changes whenever the encoding does. */
export interface StateCodec<State> {
  readonly version: number;
  encode(state: State): JSONValue;
  decode(json: JSONValue): State;
  /** Roughly how much memory a state holds, in entries, for the in-process cache's budget. */
  weigh(state: State): number;
}

interface SnapshotData extends JSONObject {
  stream: string;
  /** The revision of the last event folded in, as a decimal string. */
  revision: string;
  eventId: string;
  lastLink: string | null;
  format: string;
  state: JSONValue;
}

export interface Snapshot<State> {
  readonly state: State;
  readonly revision: bigint;
  readonly eventId: string;
  readonly lastLink: string | null;
}

const jsonCodec = <State>(): StateCodec<State> => ({
  version: 1,
  weigh: () => 1,
  encode: (state) => state as unknown as JSONValue,
  decode: (json) => {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new Error('not a state object');
    return json as unknown as State;
  },
});

const POLICY_SETTINGS = ['maxKeyLifetimeDays', 'defaultKeyLifetimeDays', 'expiryWarningDays', 'unusedAfterDays'] as const;

const accountCodec: StateCodec<AccountState> = {
  version: 2, // 2: the account policy
  weigh: (state) => 1 + state.slots.size,
  encode: (state) => ({ limit: state.limit, slots: [...state.slots].map(([keyId, at]) => [keyId, at]), policy: { ...state.policy } }),
  decode: (json) => {
    const { limit, slots, policy } = json as { limit: unknown; slots: unknown; policy: unknown };
    if ((limit !== null && typeof limit !== 'number') || !Array.isArray(slots)) throw new Error('not an account state');
    if (policy === null || typeof policy !== 'object') throw new Error('not an account policy');
    const settings = policy as Record<string, unknown>;
    if (!POLICY_SETTINGS.every((setting) => settings[setting] === null || typeof settings[setting] === 'number')) throw new Error('not an account policy');
    const map = new Map<string, string>();
    for (const slot of slots) {
      if (!Array.isArray(slot) || typeof slot[0] !== 'string' || typeof slot[1] !== 'string') throw new Error('not a key slot');
      map.set(slot[0], slot[1]);
    }
    const decoded: AccountPolicy = {
      maxKeyLifetimeDays: settings['maxKeyLifetimeDays'] as number | null,
      defaultKeyLifetimeDays: settings['defaultKeyLifetimeDays'] as number | null,
      expiryWarningDays: settings['expiryWarningDays'] as number | null,
      unusedAfterDays: settings['unusedAfterDays'] as number | null,
    };
    return { limit, slots: map, policy: decoded };
  },
};

/** The folds that are snapshotted, by their `evolve`: the key's and the account's. Any other fold reads its whole stream. */
const CODECS = new Map<unknown, { codec: StateCodec<unknown>; format: string }>();
function register<State>(evolve: (state: State, event: never) => State, name: string, codec: StateCodec<State>): void {
  const source = createHash('sha256').update(evolve.toString()).digest('hex').slice(0, 16);
  CODECS.set(evolve, { codec: codec as StateCodec<unknown>, format: `${name}/${codec.version}/${source}` });
}
register<ApiKeyState>(apiKeyDecider.evolve, 'apiKey', jsonCodec<ApiKeyState>());
register<AccountState>(accountDecider.evolve, 'account', accountCodec);

export const isSnapshotted = (evolve: unknown): boolean => CODECS.has(evolve);

/**
 * The latest snapshot this process read or wrote, per store and stream, most recently used first
 * kept, within a budget of CACHE_WEIGHT (a key weighs 1, an account 1 + its slots, so a few large
 * accounts cannot hold a lot of memory): a command then neither reads nor decodes it again. It is
 * checked against the log like one read from the store; one that another writer has overtaken only
 * means a longer tail, until that tail leaves a new snapshot here.
 */
const CACHE_WEIGHT = 200_000;
interface Remembered {
  format: string;
  snapshot: Snapshot<unknown>;
  weight: number;
}
const cached = new WeakMap<EventStore, { streams: Map<string, Remembered>; weight: number }>();

function remember(store: EventStore, streamName: string, format: string, snapshot: Snapshot<unknown>, weight: number): void {
  const cache = cached.get(store) ?? { streams: new Map<string, Remembered>(), weight: 0 };
  cached.set(store, cache);
  forgetSnapshot(store, streamName);
  if (weight > CACHE_WEIGHT) return;
  cache.streams.set(streamName, { format, snapshot, weight });
  cache.weight += weight;
  while (cache.weight > CACHE_WEIGHT) forgetSnapshot(store, cache.streams.keys().next().value as string);
}

/** Drops a remembered snapshot that did not check against the log. */
export function forgetSnapshot(store: EventStore, streamName: string): void {
  const cache = cached.get(store);
  const known = cache?.streams.get(streamName);
  if (!cache || !known) return;
  cache.streams.delete(streamName);
  cache.weight -= known.weight;
}

/** The latest snapshot of a stream for this fold, or null when there is none that this fold can use. */
export async function readSnapshot<State>(store: EventStore, streamName: string, evolve: unknown): Promise<Snapshot<State> | null> {
  const entry = CODECS.get(evolve);
  if (!entry) return null;
  const known = cached.get(store)?.streams.get(streamName);
  if (known && known.format === entry.format) return known.snapshot as Snapshot<State>;
  try {
    for await (const resolved of store.readStream(snapshotStream(streamName), { direction: BACKWARDS, fromRevision: END, maxCount: 1 })) {
      const data = resolved.event?.data as Partial<SnapshotData> | undefined;
      if (!data || data.stream !== streamName || data.format !== entry.format || typeof data.revision !== 'string' || !/^\d{1,19}$/.test(data.revision)) return null;
      if (typeof data.eventId !== 'string' || (data.lastLink !== null && typeof data.lastLink !== 'string') || data.state === undefined) return null;
      let state: State;
      try {
        state = entry.codec.decode(data.state) as State;
      } catch {
        return null; // a snapshot that does not decode
      }
      const snapshot: Snapshot<State> = { state, revision: BigInt(data.revision), eventId: data.eventId, lastLink: data.lastLink ?? null };
      remember(store, streamName, entry.format, snapshot, entry.codec.weigh(state));
      return snapshot;
    }
  } catch (error) {
    if (error instanceof StreamNotFoundError) return null;
    throw error;
  }
  return null;
}

/** Streams with a snapshot being written, per store: one write at a time per stream. */
const writing = new WeakMap<EventStore, Set<string>>();

/**
 * Records `snapshot` in the background: the command that read the stream does not wait for it, and
 * a failed write only means the next fold reads further (it never fails a command).
 */
export function writeSnapshotInBackground<State>(store: EventStore, streamName: string, evolve: unknown, snapshot: Snapshot<State>): void {
  const inFlight = writing.get(store) ?? new Set<string>();
  writing.set(store, inFlight);
  if (inFlight.has(streamName)) return;
  inFlight.add(streamName);
  writeSnapshot(store, streamName, evolve, snapshot)
    .catch(() => undefined)
    .finally(() => inFlight.delete(streamName));
}

/** Records `snapshot` as the stream's latest (for a fold that is snapshotted; nothing otherwise). */
export async function writeSnapshot<State>(store: EventStore, streamName: string, evolve: unknown, snapshot: Snapshot<State>): Promise<void> {
  const entry = CODECS.get(evolve);
  if (!entry) return;
  const data: SnapshotData = {
    stream: streamName,
    revision: snapshot.revision.toString(),
    eventId: snapshot.eventId,
    lastLink: snapshot.lastLink,
    format: entry.format,
    state: entry.codec.encode(snapshot.state),
  };
  await store.appendToStream(snapshotStream(streamName), jsonEvent({ type: SNAPSHOT_EVENT_TYPE, data }), { expectedRevision: ANY });
  remember(store, streamName, entry.format, snapshot, entry.codec.weigh(snapshot.state));
}

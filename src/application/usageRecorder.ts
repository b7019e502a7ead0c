import { randomUUID } from 'node:crypto';
import type { ApiKeysUsed, KeyUse, LimitReached, UsageCount } from '../domain/usage';
import { tokensOf } from '../domain/usage';
import type { WindowCounts } from '../domain/usageWindows';
import { bucketStart, countInDay, countInMinute, countInMonth, countUse, emptyWindowCounts } from '../domain/usageWindows';
import type { UsageBucketDocument } from '../readModel/documents';
import type { Logger } from '../logger';
import type { EventStore } from '../ports/eventStore';
import { ANY } from '../ports/eventStore';
import type { EventMetadata } from '../eventLog/streams';
import { EVENT_SCHEMA_VERSION, USAGE_STREAM, toEventData } from '../eventLog/streams';

/** One minute's counts of one key not yet written. */
interface PendingCount {
  minute: number;
  requests: number;
  denied: Record<string, number> | null;
  /** `reason windowEndMs` of the limit windows refused in (a handful at most: a minute has few windows). */
  limitsReached: Set<string> | null;
  promptTokens: number;
  completionTokens: number;
}

interface KeyUsage {
  accountId: string;
  /** The latest valid use not yet written. */
  pendingAt: number | null;
  /** Not yet written, oldest minute first (usually one). */
  pending: PendingCount[];
  /** What the key used in its current windows: this instance's uses plus other instances' flushed ones. */
  windows: WindowCounts;
}

/**
 * EventStoreDB refuses an append over 1 MiB (MaxAppendSize, counted over data and metadata). A
 * flush writes its uses in appends of at most this many bytes of data, one event each: a quarter of
 * the limit, so that larger use records and the metadata still fit.
 */
export const MAX_USAGE_EVENT_BYTES = 256 * 1024;

/** Flush interval by default (USAGE_FLUSH_MS): on several instances, each sees the others' uses about this late. */
export const DEFAULT_USAGE_FLUSH_MS = 1000;

const USAGE_METADATA: EventMetadata = { actor: 'system:usage', correlationId: 'usage', causationId: 'usage', schemaVersion: EVENT_SCHEMA_VERSION };

/**
 * Counts key use off the write path. Verification only counts in memory (`record`, `denied`; token
 * reports with `recordTokens`) and reads the counts its limits are checked against (`countsOf`). A
 * timer appends what was counted as coalesced `ApiKeysUsed` events (at most one entry per key per
 * flush, in events of at most MAX_USAGE_EVENT_BYTES), which projections turn into `lastUsedAt` and
 * usage buckets. A failed append keeps its counts for the next flush; `stop` writes what is pending.
 *
 * Several instances: every instance follows the log (`applied`, fed by the projection runner) and
 * adds the other instances' flushed counts to its own, so each enforces `local + others' flushed`.
 * Its own events are recognised by `instanceId` and not counted twice. A restarted instance has a
 * new id: its earlier uses come back from the log as another instance's.
 */
export class UsageRecorder {
  private readonly usage = new Map<string, KeyUsage>();
  /** Keys with something not yet written. */
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private sweptDay = 0;

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
    private readonly flushIntervalMs = DEFAULT_USAGE_FLUSH_MS,
    private readonly clock: () => number = Date.now,
    private readonly maxEventBytes = MAX_USAGE_EVENT_BYTES,
    readonly instanceId: string = randomUUID(),
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  /** A valid verification at `usedAt`: counts toward the key's request limits and usage. */
  record(keyId: string, accountId: string, usedAt: number): void {
    const entry = this.entryOf(keyId, accountId);
    entry.pendingAt = entry.pendingAt === null ? usedAt : Math.max(entry.pendingAt, usedAt);
    this.pendingAt(entry, usedAt).requests += 1;
    countUse(entry.windows, usedAt, 1, 0);
    this.dirty.add(keyId);
  }

  /** A verification of a known key that answered invalid: usage only; refused by a limit, also the limit's window (when it ends). */
  denied(keyId: string, accountId: string, reason: string, at: number, limitWindowEndMs?: number): void {
    const count = this.pendingAt(this.entryOf(keyId, accountId), at);
    count.denied ??= {};
    count.denied[reason] = (count.denied[reason] ?? 0) + 1;
    if (limitWindowEndMs !== undefined) (count.limitsReached ??= new Set()).add(`${reason} ${limitWindowEndMs}`);
    this.dirty.add(keyId);
  }

  /** Tokens a gateway reported for a call at `at`: count toward the key's token limits (if still in their windows) and usage. */
  recordTokens(keyId: string, accountId: string, at: number, promptTokens: number, completionTokens: number): void {
    const entry = this.entryOf(keyId, accountId);
    const count = this.pendingAt(entry, at);
    count.promptTokens += promptTokens;
    count.completionTokens += completionTokens;
    countUse(entry.windows, at, 0, promptTokens + completionTokens);
    this.dirty.add(keyId);
  }

  /** What the key used in its current windows, as far as this instance knows; undefined when nothing. */
  countsOf(keyId: string): WindowCounts | undefined {
    return this.usage.get(keyId)?.windows;
  }

  /** Fed with every batch the projection runner applied: other instances' flushed counts join this one's. */
  applied(events: ReadonlyArray<{ type: string; data: unknown }>): void {
    for (const event of events) {
      if (event.type !== 'ApiKeysUsed') continue;
      const data = event.data as ApiKeysUsed['data'];
      if (data.instanceId === this.instanceId) continue;
      for (const use of data.uses) {
        if (!use.counts) continue;
        const { windows } = this.entryOf(use.keyId, use.accountId);
        for (const count of use.counts) countUse(windows, Date.parse(count.minute), count.requests ?? 0, tokensOf(count));
      }
    }
  }

  /**
   * Counts read back from the usage buckets when the read model outlives the instance (MongoDB):
   * the current minute's and day's buckets, and this month's day buckets. Call once, before the
   * projection runner starts: the runner then adds what follows its checkpoint.
   */
  seed(buckets: Iterable<Pick<UsageBucketDocument, 'keyId' | 'accountId' | 'granularity' | 'start' | 'requests' | 'promptTokens' | 'completionTokens'>>, nowMs: number): void {
    const today = bucketStart('DAY', nowMs);
    for (const bucket of buckets) {
      const { windows } = this.entryOf(bucket.keyId, bucket.accountId);
      const startMs = bucket.start.getTime();
      const tokens = bucket.promptTokens + bucket.completionTokens;
      if (bucket.granularity === 'MINUTE') countInMinute(windows, startMs, bucket.requests, tokens);
      else if (bucket.granularity === 'DAY') {
        countInMonth(windows, startMs, tokens);
        if (startMs === today) countInDay(windows, startMs, bucket.requests, tokens);
      }
    }
  }

  /** Appends what was counted since the last flush; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushPending());
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private entryOf(keyId: string, accountId: string): KeyUsage {
    let entry = this.usage.get(keyId);
    if (entry === undefined) {
      entry = { accountId, pendingAt: null, pending: [], windows: emptyWindowCounts() };
      this.usage.set(keyId, entry);
    }
    return entry;
  }

  private pendingAt(entry: KeyUsage, atMs: number): PendingCount {
    const minute = bucketStart('MINUTE', atMs);
    const last = entry.pending[entry.pending.length - 1];
    if (last !== undefined && last.minute === minute) return last;
    const existing = entry.pending.find((count) => count.minute === minute);
    if (existing) return existing;
    const count: PendingCount = { minute, requests: 0, denied: null, limitsReached: null, promptTokens: 0, completionTokens: 0 };
    entry.pending.push(count);
    return count;
  }

  private async flushPending(): Promise<void> {
    this.sweep();
    if (this.dirty.size === 0) return;
    // Taken out before the first await: what verifications count meanwhile goes to the next flush.
    const taken: Array<{ keyId: string; entry: KeyUsage; pendingAt: number | null; pending: PendingCount[]; use: KeyUse }> = [];
    for (const keyId of this.dirty) {
      const entry = this.usage.get(keyId);
      if (entry === undefined) continue;
      const { pendingAt, pending } = entry;
      entry.pendingAt = null;
      entry.pending = [];
      taken.push({ keyId, entry, pendingAt, pending, use: useOf(keyId, entry.accountId, pendingAt, pending) });
    }
    this.dirty.clear();
    const chunks = chunksBySize(taken, (item) => JSON.stringify(item.use).length + 1, this.maxEventBytes);
    for (const [index, chunk] of chunks.entries()) {
      const uses = chunk.map((item) => item.use);
      try {
        const event: ApiKeysUsed = { type: 'ApiKeysUsed', data: { instanceId: this.instanceId, uses } };
        await this.store.appendToStream(USAGE_STREAM, toEventData(event, USAGE_METADATA), { expectedRevision: ANY });
      } catch (error) {
        // The chunks written so far stay written; this one and the rest go back for the next flush.
        this.logger.warn({ err: error, uses: uses.length }, 'could not write key uses; will retry');
        for (const item of chunks.slice(index).flat()) this.putBack(item.keyId, item.entry, item.pendingAt, item.pending);
        return;
      }
    }
  }

  private putBack(keyId: string, entry: KeyUsage, pendingAt: number | null, pending: PendingCount[]): void {
    if (pendingAt !== null) entry.pendingAt = entry.pendingAt === null ? pendingAt : Math.max(entry.pendingAt, pendingAt);
    for (const count of pending) {
      const into = this.pendingAt(entry, count.minute);
      into.requests += count.requests;
      into.promptTokens += count.promptTokens;
      into.completionTokens += count.completionTokens;
      for (const [reason, n] of Object.entries(count.denied ?? {})) {
        into.denied ??= {};
        into.denied[reason] = (into.denied[reason] ?? 0) + n;
      }
      for (const reached of count.limitsReached ?? []) (into.limitsReached ??= new Set()).add(reached);
    }
    entry.pending.sort((a, b) => a.minute - b.minute);
    this.usage.set(keyId, entry);
    this.dirty.add(keyId);
  }

  /** Once a day: forget keys with nothing pending whose month window has ended (memory: one small record per key used this month). */
  private sweep(): void {
    const now = this.clock();
    const day = bucketStart('DAY', now);
    if (day === this.sweptDay) return;
    this.sweptDay = day;
    for (const [keyId, entry] of this.usage) {
      if (!this.dirty.has(keyId) && entry.windows.monthEnd <= now) this.usage.delete(keyId);
    }
  }
}

function useOf(keyId: string, accountId: string, pendingAt: number | null, pending: readonly PendingCount[]): KeyUse {
  const counts: UsageCount[] = pending.map((count) => ({
    minute: new Date(count.minute).toISOString(),
    ...(count.requests > 0 ? { requests: count.requests } : {}),
    ...(count.denied !== null ? { denied: count.denied } : {}),
    ...(count.promptTokens > 0 ? { promptTokens: count.promptTokens } : {}),
    ...(count.completionTokens > 0 ? { completionTokens: count.completionTokens } : {}),
    ...(count.limitsReached !== null ? { limitsReached: [...count.limitsReached].map(limitReachedOf) } : {}),
  }));
  return { keyId, accountId, ...(pendingAt !== null ? { usedAt: new Date(pendingAt).toISOString() } : {}), counts };
}

function limitReachedOf(entry: string): LimitReached {
  const [reason, windowEndMs] = entry.split(' ') as [string, string];
  return { reason, windowEnd: new Date(Number(windowEndMs)).toISOString() };
}

/** Consecutive runs of `items` whose sizes add up to at most `maxBytes` (an item larger than that alone). */
export function chunksBySize<T>(items: readonly T[], sizeOf: (item: T) => number, maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

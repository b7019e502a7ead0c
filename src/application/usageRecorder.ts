import type { KeyUse } from '../domain/usage';
import type { Logger } from '../logger';
import type { EventStore } from '../ports/eventStore';
import { ANY } from '../ports/eventStore';
import type { EventMetadata } from '../eventLog/streams';
import { EVENT_SCHEMA_VERSION, USAGE_STREAM, toEventData } from '../eventLog/streams';

interface KeyUsage {
  accountId: string;
  /** When this key's last use was written; null before the first. */
  lastWrittenAt: number | null;
  /** The latest use not yet written. */
  pendingAt: number | null;
}

/**
 * EventStoreDB refuses an append over 1 MiB (MaxAppendSize, counted over data and metadata). A
 * flush writes its uses in appends of at most this many bytes of data, one event each: a quarter of
 * the limit, so that larger use records (counters, limits) and the metadata still fit.
 */
export const MAX_USAGE_EVENT_BYTES = 256 * 1024;

const USAGE_METADATA: EventMetadata = { actor: 'system:usage', correlationId: 'usage', causationId: 'usage', schemaVersion: EVENT_SCHEMA_VERSION };

/**
 * Keeps `lastUsedAt` off the verification hot path: `record` only notes the use in memory. A
 * timer appends the noted uses as coalesced `ApiKeysUsed` events (one per MAX_USAGE_EVENT_BYTES of
 * uses): at most one use per key per window, the first use of a key within a flush interval. A
 * failed append keeps its uses for the next flush; `stop` writes what is pending.
 */
export class UsageRecorder {
  private readonly usage = new Map<string, KeyUsage>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
    private readonly windowMs: number,
    private readonly flushIntervalMs = 250,
    private readonly clock: () => number = Date.now,
    private readonly maxEventBytes = MAX_USAGE_EVENT_BYTES,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  record(keyId: string, accountId: string, usedAt: number): void {
    const entry = this.usage.get(keyId);
    if (entry) entry.pendingAt = entry.pendingAt === null ? usedAt : Math.max(entry.pendingAt, usedAt);
    else this.usage.set(keyId, { accountId, lastWrittenAt: null, pendingAt: usedAt });
  }

  /** Appends the uses that are due; one flush at a time. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushDue());
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  private async flushDue(): Promise<void> {
    const now = this.clock();
    const due: Array<[string, KeyUsage, number]> = [];
    for (const [keyId, entry] of this.usage) {
      if (entry.pendingAt !== null && (entry.lastWrittenAt === null || now - entry.lastWrittenAt >= this.windowMs)) {
        due.push([keyId, entry, entry.pendingAt]);
      } else if (entry.pendingAt === null && entry.lastWrittenAt !== null && now - entry.lastWrittenAt >= this.windowMs) {
        this.usage.delete(keyId); // idle for a whole window: forget it
      }
    }
    if (due.length === 0) return;
    const pending = due.map(([keyId, entry, usedAt]) => ({ entry, usedAt, use: { keyId, accountId: entry.accountId, usedAt: new Date(usedAt).toISOString() } satisfies KeyUse }));
    for (const chunk of chunksBySize(pending, (item) => JSON.stringify(item.use).length + 1, this.maxEventBytes)) {
      const uses = chunk.map((item) => item.use);
      try {
        await this.store.appendToStream(USAGE_STREAM, toEventData({ type: 'ApiKeysUsed', data: { uses } }, USAGE_METADATA), { expectedRevision: ANY });
      } catch (error) {
        // The chunks written so far stay written; this one and the rest are retried at the next flush.
        this.logger.warn({ err: error, uses: uses.length }, 'could not write key uses; will retry');
        return;
      }
      for (const { entry, usedAt } of chunk) {
        entry.lastWrittenAt = now;
        if (entry.pendingAt === usedAt) entry.pendingAt = null;
      }
    }
  }
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

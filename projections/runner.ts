import type { Database } from '../src/ports/collection';
import type { AllStreamSubscription, EventStore, Position, RecordedEvent } from '../src/ports/eventStore';
import { BACKWARDS, END, comparePositions, streamNameFilter } from '../src/ports/eventStore';
import { KEYHUB_STREAM_PREFIXES } from '../src/eventLog/streams';
import type { Logger } from '../src/logger';
import type { CheckpointDocument } from '../src/readModel/documents';
import { COLLECTIONS } from '../src/readModel/documents';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import { toProjectedEvent } from '../src/readModel/projectedEvent';
import { CHECKPOINT_ID, applyBatch, ensureIndexes } from './registry';

const MAX_BATCH = 500;
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];

export type AppliedListener = (events: readonly ProjectedEvent[]) => void;

/**
 * Keeps the read model current: a catch-up subscription to the log from the stored checkpoint,
 * applied in batches (whatever has arrived, up to 500 events), the checkpoint stored after each
 * batch. Mutations wait on `waitFor` for read-your-writes; live feeds and caches listen with
 * `onApplied`, so they see exactly what the read model sees, in the same order. A failure (store or
 * read model unreachable) is logged and the subscription resumes from the checkpoint.
 */
export class ProjectionRunner {
  private position: Position | null = null;
  private subscription: AllStreamSubscription | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly waiters = new Set<{ target: Position; resolve: () => void }>();
  private readonly listeners = new Set<AppliedListener>();
  private caughtUpTarget: Position | null = null;
  private caughtUpResolve: (() => void) | null = null;
  /** Resolves once the read model reflects every event that was in the log when the runner started. */
  readonly caughtUp: Promise<void>;
  private lastError: unknown = null;
  private recoveringTo: Position | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly database: Database,
    private readonly logger: Logger,
  ) {
    this.caughtUp = new Promise((resolve) => (this.caughtUpResolve = resolve));
  }

  async start(): Promise<void> {
    await ensureIndexes(this.database);
    const checkpoint = await this.database.collection<CheckpointDocument>(COLLECTIONS.checkpoints).findOne({ _id: CHECKPOINT_ID });
    this.position = checkpoint ? { commit: BigInt(checkpoint.commit), prepare: BigInt(checkpoint.prepare) } : null;
    this.caughtUpTarget = await this.lastLogPosition();
    this.resolveCaughtUpIfReached();
    this.running = this.loop();
  }

  onApplied(listener: AppliedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when the read model reflects the event at `target` (or after `timeoutMs`, returning false). */
  waitFor(target: Position, timeoutMs = 5000): Promise<boolean> {
    if (this.reached(target)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = { target, resolve: () => (clearTimeout(timer), resolve(true)) };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  get checkpoint(): Position | null {
    return this.position;
  }

  /** False while the engines fail, and after they answer again until the events missed meanwhile are applied. */
  get healthy(): boolean {
    return this.lastError === null && (this.recoveringTo === null || this.reached(this.recoveringTo));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.unsubscribe();
    await this.running;
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (this.lastError !== null) {
          await this.probeEngines();
          failures = 0;
        }
        this.subscription = this.store.subscribeToAll({
          fromPosition: this.position ?? 'start',
          filter: streamNameFilter({ prefixes: KEYHUB_STREAM_PREFIXES }),
        });
        await this.consume(this.subscription, () => (failures = 0));
        if (this.stopped) return;
        // A server may end a subscription without an error (a restart, a leader change): resume as after one.
        throw new Error('the subscription to the log ended');
      } catch (error) {
        if (this.stopped) return;
        this.lastError = error;
        const delay = RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)] as number;
        failures += 1;
        this.logger.error({ err: error, retryInMs: delay }, 'projection failed; resuming from the checkpoint');
        await this.subscription?.unsubscribe().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /**
   * After a failure: one round trip to the log and one to the read model before resubscribing.
   * A resumed subscription proves nothing until an event arrives, and a quiet log would keep the
   * instance "not ready" for good; the probe clears the error as soon as both engines answer, and
   * the instance is healthy again once it has applied the log up to where it stood at the probe.
   */
  private async probeEngines(): Promise<void> {
    const newest = await this.lastLogPosition();
    await this.database.collection<CheckpointDocument>(COLLECTIONS.checkpoints).findOne({ _id: CHECKPOINT_ID });
    this.recoveringTo = newest; // what other instances wrote during the outage must be applied before this one serves again
    this.lastError = null;
    this.logger.info({ checkpoint: this.position && { commit: this.position.commit.toString(), prepare: this.position.prepare.toString() } }, 'engines answer again; projection resumes from the checkpoint');
  }

  /** Pulls events as they come and applies whatever has already arrived as one batch. */
  private async consume(subscription: AllStreamSubscription, onProgress: () => void): Promise<void> {
    const iterator = subscription[Symbol.asyncIterator]();
    let pending = iterator.next();
    for (;;) {
      const first = await pending;
      if (first.done || this.stopped) return;
      const batch: RecordedEvent[] = [];
      if (first.value.event) batch.push(first.value.event);
      pending = iterator.next();
      // One timer per batch, not per event: it fires once the events that have already arrived are taken.
      const idle = new Promise<'idle'>((resolve) => setImmediate(resolve, 'idle'));
      while (batch.length < MAX_BATCH) {
        const next = await Promise.race([pending, idle]);
        if (next === 'idle' || next.done) break;
        if (next.value.event) batch.push(next.value.event);
        pending = iterator.next();
      }
      // Resuming from a checkpoint may repeat the event at it; the guarded writes would ignore it anyway.
      const fresh = batch.filter((event) => !this.reached(event.position)).map(toProjectedEvent);
      if (fresh.length === 0) continue;
      await applyBatch(this.database, fresh);
      this.position = (fresh[fresh.length - 1] as ProjectedEvent).position;
      this.lastError = null;
      onProgress();
      // Listeners first (they evict verification caches), then the mutations waiting on this position:
      // a mutation must never return while a cache could still answer with the state it changed.
      for (const listener of this.listeners) {
        try {
          listener(fresh);
        } catch (error) {
          this.logger.error({ err: error }, 'a projection listener failed');
        }
      }
      this.settleWaiters();
    }
  }

  private reached(target: Position): boolean {
    return this.position !== null && comparePositions(this.position, target) >= 0;
  }

  private settleWaiters(): void {
    for (const waiter of this.waiters) {
      if (this.reached(waiter.target)) {
        this.waiters.delete(waiter);
        waiter.resolve();
      }
    }
    this.resolveCaughtUpIfReached();
  }

  private resolveCaughtUpIfReached(): void {
    if (this.caughtUpResolve && (this.caughtUpTarget === null || this.reached(this.caughtUpTarget))) {
      this.caughtUpResolve();
      this.caughtUpResolve = null;
    }
  }

  /**
   * The newest event of ours in the log (the read model is ready once it reflects it), found by
   * reading $all backwards from its end, past other applications' and system events however many
   * there are, down to the checkpoint at most: what lies below it is applied already, so the scan
   * never costs more than the catch-up it stands for. The read is cancelled where it stops.
   */
  private async lastLogPosition(): Promise<Position | null> {
    for await (const resolved of this.store.readAll({ fromPosition: END, direction: BACKWARDS })) {
      const event = resolved.event;
      if (event && KEYHUB_STREAM_PREFIXES.some((prefix) => event.streamId.startsWith(prefix))) return event.position;
      const at = event?.position.commit ?? resolved.commitPosition;
      if (this.position !== null && at !== undefined && at <= this.position.commit) return this.position;
    }
    return null;
  }
}

import type { Database } from '../src/ports/collection';
import { ReadModelUnavailableError } from '../src/ports/collection';
import type { AllStreamSubscription, EventStore, Position, RecordedEvent } from '../src/ports/eventStore';
import { BACKWARDS, END, EventStoreUnavailableError, UndecodableEventError, comparePositions, streamNameFilter } from '../src/ports/eventStore';
import { KEYHUB_STREAM_PREFIXES } from '../src/eventLog/streams';
import type { Logger } from '../src/logger';
import type { CheckpointDocument } from '../src/readModel/documents';
import { COLLECTIONS } from '../src/readModel/documents';
import type { ProjectedEvent } from '../src/readModel/projectedEvent';
import { toProjectedEvent } from '../src/readModel/projectedEvent';
import { CHECKPOINT_ID, applyBatch, ensureIndexes } from './registry';

const MAX_BATCH = 500;
/** Delays between retries at one position: growing, capped (the start-up connect's cap). */
export const RETRY_DELAYS_MS: readonly number[] = [100, 250, 500, 1000, 2000, 5000, 10_000, 15_000];

export type AppliedListener = (events: readonly ProjectedEvent[]) => void;

/** Why the runner is not healthy, for readiness reports: typed, and without the error's own text (that goes to the log). */
export type ProjectionProblem =
  /** Stopped for good at an event it cannot decode: an operator must repair the log; no retry can help. */
  | { readonly code: 'PROJECTION_STOPPED'; readonly position: string; readonly streamId: string; readonly eventType: string | null; readonly message: string }
  /** An engine (or a write) fails at `position`; retrying with backoff. */
  | { readonly code: 'PROJECTION_RETRYING'; readonly position: string | null; readonly attempts: number; readonly retryInMs: number; readonly message: string }
  /** The engines answer again; applying what was written meanwhile. */
  | { readonly code: 'PROJECTION_CATCHING_UP'; readonly position: string | null; readonly target: string; readonly message: string };

export interface ProjectionRunnerOptions {
  /** Waits between retries; tests replace it to control time. Resolves early when the runner stops. */
  sleep?: (ms: number, stopping: AbortSignal) => Promise<void>;
  /** How long `waitFor` waits by default (read-your-writes). */
  waitForTimeoutMs?: number;
}

const positionText = (position: Position | null): string | null => (position === null ? null : position.commit.toString());

const sleepUnlessStopped = (ms: number, stopping: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    stopping.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Keeps the read model current: a catch-up subscription to the log from the stored checkpoint,
 * applied in batches (whatever has arrived, up to 500 events), the checkpoint stored after each
 * batch. Mutations wait on `waitFor` for read-your-writes; live feeds and caches listen with
 * `onApplied`, so they see exactly what the read model sees, in the same order. A failure (store or
 * read model unreachable) is logged and the subscription resumes from the checkpoint, after a delay
 * that grows while the checkpoint does not move (one log line per retry, the stack trace only on
 * the first). An event that cannot be decoded stops the runner for good (`problem` says where):
 * skipping it would build a read model that silently differs from the log.
 */
export class ProjectionRunner {
  private position: Position | null = null;
  private subscription: AllStreamSubscription | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly waiters = new Set<{ target: Position; settle: (reached: boolean) => void }>();
  private readonly listeners = new Set<AppliedListener>();
  private caughtUpTarget: Position | null = null;
  private caughtUpResolve: (() => void) | null = null;
  /** Resolves once the read model reflects every event that was in the log when the runner started. */
  readonly caughtUp: Promise<void>;
  /** Resolves once caught up, or once the runner stopped at an undecodable event (start-up must not wait for good). */
  readonly caughtUpOrStopped: Promise<void>;
  private stoppedResolve: (() => void) | null = null;
  private lastError: unknown = null;
  private recoveringTo: Position | null = null;
  /** Failures in a row at one checkpoint: the backoff only starts over once the checkpoint moves. */
  private retries: { at: string | null; attempts: number; retryInMs: number } = { at: null, attempts: 0, retryInMs: 0 };
  private stoppedAt: Extract<ProjectionProblem, { code: 'PROJECTION_STOPPED' }> | null = null;
  private readonly stopping = new AbortController();
  private readonly sleep: (ms: number, stopping: AbortSignal) => Promise<void>;
  private readonly waitForTimeoutMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly database: Database,
    private readonly logger: Logger,
    options: ProjectionRunnerOptions = {},
  ) {
    this.caughtUp = new Promise((resolve) => (this.caughtUpResolve = resolve));
    const stopped = new Promise<void>((resolve) => (this.stoppedResolve = resolve));
    this.caughtUpOrStopped = Promise.race([this.caughtUp, stopped]);
    this.sleep = options.sleep ?? sleepUnlessStopped;
    this.waitForTimeoutMs = options.waitForTimeoutMs ?? 5000;
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
  waitFor(target: Position, timeoutMs = this.waitForTimeoutMs): Promise<boolean> {
    if (this.reached(target)) return Promise.resolve(true);
    if (this.stoppedAt !== null) return Promise.resolve(false); // it will never get there
    return new Promise((resolve) => {
      const waiter = { target, settle: (reached: boolean) => (clearTimeout(timer), resolve(reached)) };
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

  /** False while the engines fail, after they answer again until the events missed meanwhile are applied, and once stopped at an undecodable event. */
  get healthy(): boolean {
    return this.problem === null;
  }

  /** Why the runner is not healthy (null when it is). */
  get problem(): ProjectionProblem | null {
    if (this.stoppedAt !== null) return this.stoppedAt;
    const position = positionText(this.position);
    // Between attempts (the probe answered, the batch has not gone through yet) it is still retrying.
    const stillFailing = this.retries.attempts > 0 && this.retries.at === position && this.recoveringTo !== null && !this.reached(this.recoveringTo);
    if (this.lastError !== null || stillFailing) {
      const { attempts, retryInMs } = this.retries;
      return { code: 'PROJECTION_RETRYING', position, attempts, retryInMs, message: `the read model cannot be brought past position ${position ?? 'start'} (${attempts} attempts); retrying` };
    }
    if (this.recoveringTo !== null && !this.reached(this.recoveringTo)) {
      const target = positionText(this.recoveringTo) as string;
      return { code: 'PROJECTION_CATCHING_UP', position, target, message: `applying the events written while the engines were unreachable (at ${position ?? 'start'} of ${target})` };
    }
    return null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.subscription?.unsubscribe();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.lastError !== null) await this.probeEngines();
        this.subscription = this.store.subscribeToAll({
          fromPosition: this.position ?? 'start',
          filter: streamNameFilter({ prefixes: KEYHUB_STREAM_PREFIXES }),
        });
        await this.consume(this.subscription);
        if (this.stopped) return;
        // A server may end a subscription without an error (a restart, a leader change): resume as after one.
        throw new Error('the subscription to the log ended');
      } catch (error) {
        if (this.stopped) return;
        await this.subscription?.unsubscribe().catch(() => undefined);
        if (error instanceof UndecodableEventError) return this.stopAt(error);
        this.lastError = error;
        await this.backOff(error);
      }
    }
  }

  /**
   * Waits before the next attempt: longer after each failure at the same checkpoint (an engine probe
   * that succeeds proves the engines answer, not that this position will now go through), from the
   * shortest again once the checkpoint has moved. One line per attempt; the stack trace only on the first.
   */
  private async backOff(error: unknown): Promise<void> {
    const at = positionText(this.position);
    if (this.retries.at !== at || this.retries.attempts === 0) this.retries = { at, attempts: 0, retryInMs: 0 };
    const retryInMs = RETRY_DELAYS_MS[Math.min(this.retries.attempts, RETRY_DELAYS_MS.length - 1)] as number;
    this.retries = { at, attempts: this.retries.attempts + 1, retryInMs };
    const fields = { position: at, attempt: this.retries.attempts, retryInMs };
    const where = `at position ${at ?? 'start'}`;
    if (this.retries.attempts === 1) this.logger.error({ ...fields, err: error }, `projection failed ${where}; retrying from the checkpoint in ${retryInMs} ms`);
    else this.logger.warn({ ...fields, error: (error as Error)?.message ?? String(error) }, `projection still failing ${where} (attempt ${fields.attempt}); retrying in ${retryInMs} ms`);
    await this.sleep(retryInMs, this.stopping.signal);
  }

  /** An event no retry can get past: stop, say where, and release everyone waiting for a position beyond it. */
  private stopAt(error: UndecodableEventError): void {
    const position = error.position.commit.toString();
    const applied = positionText(this.position) ?? 'start';
    this.stoppedAt = {
      code: 'PROJECTION_STOPPED',
      position,
      streamId: error.streamId,
      eventType: error.eventType,
      message: `the projection stopped at an event it cannot decode (position ${position}); the read model stays at position ${applied}`,
    };
    this.logger.error(
      { position, streamId: error.streamId, eventType: error.eventType, appliedUpTo: applied, err: error.cause },
      `projection stopped: ${error.message}. The read model stays at position ${applied} and /readyz answers 503. ` +
        'Repair the event (or restore the log from a backup) and restart keyhub.',
    );
    for (const waiter of this.waiters) waiter.settle(false);
    this.waiters.clear();
    this.stoppedResolve?.();
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
    const outage = this.lastError instanceof EventStoreUnavailableError || this.lastError instanceof ReadModelUnavailableError;
    this.lastError = null;
    // Nothing past the checkpoint (a quiet log): nothing is failing at this position any more, the next failure starts the backoff afresh.
    if (newest === null || this.reached(newest)) this.retries = { at: null, attempts: 0, retryInMs: 0 };
    // Said once an outage ends; not on every attempt at a batch that keeps failing (backOff logs those).
    this.logger[outage ? 'info' : 'debug']({ checkpoint: positionText(this.position) }, 'engines answer again; projection resumes from the checkpoint');
  }

  /** Pulls events as they come and applies whatever has already arrived as one batch. */
  private async consume(subscription: AllStreamSubscription): Promise<void> {
    const iterator = subscription[Symbol.asyncIterator]();
    let pending = iterator.next();
    for (;;) {
      const first = await pending;
      if (first.done || this.stopped) return;
      const batch: RecordedEvent[] = [];
      if (first.value.event) batch.push(first.value.event);
      pending = iterator.next();
      let broken: unknown = null;
      // One timer per batch, not per event: it fires once the events that have already arrived are taken.
      const idle = new Promise<'idle'>((resolve) => setImmediate(resolve, 'idle'));
      while (batch.length < MAX_BATCH) {
        let next: IteratorResult<{ event?: RecordedEvent }> | 'idle';
        try {
          next = await Promise.race([pending, idle]);
        } catch (error) {
          broken = error; // e.g. an undecodable event: the events before it are applied first
          break;
        }
        if (next === 'idle' || next.done) break;
        if (next.value.event) batch.push(next.value.event);
        pending = iterator.next();
      }
      // Resuming from a checkpoint may repeat the event at it; the guarded writes would ignore it anyway.
      await this.apply(batch.filter((event) => !this.reached(event.position)).map(toProjectedEvent));
      if (broken !== null) throw broken;
    }
  }

  /** Applies a batch; when one of its events cannot be decoded, the events before it, then the error. */
  private async apply(fresh: ProjectedEvent[]): Promise<void> {
    if (fresh.length === 0) return;
    try {
      await applyBatch(this.database, fresh);
    } catch (error) {
      if (!(error instanceof UndecodableEventError)) throw error;
      const readable = fresh.filter((event) => comparePositions(event.position, error.position) < 0);
      await this.apply(readable);
      throw error;
    }
    this.position = (fresh[fresh.length - 1] as ProjectedEvent).position;
    this.lastError = null;
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

  private reached(target: Position): boolean {
    return this.position !== null && comparePositions(this.position, target) >= 0;
  }

  private settleWaiters(): void {
    for (const waiter of this.waiters) {
      if (this.reached(waiter.target)) {
        this.waiters.delete(waiter);
        waiter.settle(true);
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
    const ours = (streamId: string) => KEYHUB_STREAM_PREFIXES.some((prefix) => streamId.startsWith(prefix));
    try {
      for await (const resolved of this.store.readAll({ fromPosition: END, direction: BACKWARDS })) {
        const event = resolved.event;
        if (event && ours(event.streamId)) return event.position;
        const at = event?.position.commit ?? resolved.commitPosition;
        if (this.position !== null && at !== undefined && at <= this.position.commit) return this.position;
      }
    } catch (error) {
      // Our newest event, undecodable: it is still where the log ends (the subscription will stop at it).
      if (error instanceof UndecodableEventError && ours(error.streamId)) return error.position;
      throw error;
    }
    return null;
  }
}

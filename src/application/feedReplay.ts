import type { Position } from '../ports/eventStore';
import { comparePositions } from '../ports/eventStore';

export interface ReplayThenLiveOptions<T> {
  /** The live feed; subscribed when the merged feed is first pulled, before the replay starts. Its `return` must end a pending `next` (as a pub/sub Repeater's does). */
  live: AsyncIterable<T>;
  /** Which live items belong in this feed (the replay is expected to be filtered already). */
  accept?: (item: T) => boolean;
  /** The log after the cursor, in log order, ending at the log's end; null without a cursor. */
  replay: AsyncIterable<T> | null;
  /** The cursor: nothing at or before it is delivered. */
  after: Position | null;
  positionOf(item: T): Position;
  /** Live items held for a consumer that is not pulling (during the replay, or a slow client); past this the feed ends. */
  maxPending: number;
  /** Called when the consumer fell more than `maxPending` items behind, right before the feed ends. */
  onOverflow(): void;
}

/**
 * A gap-free, duplicate-free feed for a client resuming from a cursor: live items are buffered from
 * the start, the log is replayed from the cursor, then the buffered and further live items follow,
 * dropping any at or before the last position delivered (an event can be both in the replayed log
 * and published live once the projection applies it). The live side is pulled as fast as it
 * produces, so the buffer here is the only one, and it is bounded.
 *
 * An iterator object rather than an async generator: a generator's `return()` waits for a pending
 * `next()`, so a client leaving a quiet feed would stay subscribed until the next event.
 */
export const replayThenLive = <T>(options: ReplayThenLiveOptions<T>): AsyncIterableIterator<T> => new ReplayThenLive(options);

const DONE = { done: true, value: undefined } as const;

class ReplayThenLive<T> implements AsyncIterableIterator<T> {
  private readonly pending: T[] = [];
  private readonly live: AsyncIterator<T>;
  private replay: AsyncIterator<T> | null;
  private last: Position | null;
  private wake: (() => void) | null = null;
  private pumping: Promise<void> | null = null;
  private liveEnded = false;
  private overflowed = false;
  private failure: unknown = null;
  private closed = false;

  constructor(private readonly options: ReplayThenLiveOptions<T>) {
    this.live = options.live[Symbol.asyncIterator]();
    this.replay = options.replay ? options.replay[Symbol.asyncIterator]() : null;
    this.last = options.after;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    this.pumping ??= this.pump(); // subscribe to the live side before reading the log
    while (!this.closed) {
      if (this.overflowed) {
        this.options.onOverflow();
        return this.return();
      }
      if (this.replay) {
        const replayed = await this.replay.next();
        if (replayed.done) this.replay = null;
        else if (this.fresh(replayed.value)) return { done: false, value: replayed.value };
        continue;
      }
      const item = this.pending.shift();
      if (item !== undefined) {
        if (this.fresh(item)) return { done: false, value: item };
        continue;
      }
      if (this.liveEnded) {
        const { failure } = this;
        await this.return();
        if (failure) throw failure;
        return DONE;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
    return DONE;
  }

  async return(): Promise<IteratorResult<T>> {
    if (this.closed) return DONE;
    this.closed = true;
    this.wake?.();
    await this.live.return?.();
    await this.replay?.return?.();
    return DONE;
  }

  private async pump(): Promise<void> {
    const { accept, maxPending } = this.options;
    try {
      for (;;) {
        const next = await this.live.next();
        if (next.done || this.closed) break;
        if (accept && !accept(next.value)) continue;
        if (this.pending.length >= maxPending) {
          this.overflowed = true;
          break;
        }
        this.pending.push(next.value);
        this.wake?.();
      }
    } catch (error) {
      this.failure = error;
    } finally {
      this.liveEnded = true;
      this.wake?.();
    }
  }

  private fresh(item: T): boolean {
    const position = this.options.positionOf(item);
    if (this.last !== null && comparePositions(position, this.last) <= 0) return false;
    this.last = position;
    return true;
  }
}

import type { Position } from './ports/eventStore';
import { comparePositions } from './ports/eventStore';

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
 */
export async function* replayThenLive<T>(options: ReplayThenLiveOptions<T>): AsyncGenerator<T> {
  const { positionOf, maxPending, accept } = options;
  const pending: T[] = [];
  const waiter: { wake: (() => void) | null } = { wake: null };
  let liveEnded = false;
  let overflowed = false;
  let failure: unknown = null;
  const live = options.live[Symbol.asyncIterator]();

  const pump = (async () => {
    try {
      for (;;) {
        const next = await live.next();
        if (next.done) break;
        if (pending.length >= maxPending) {
          overflowed = true;
          break;
        }
        if (accept && !accept(next.value)) continue;
        pending.push(next.value);
        waiter.wake?.();
      }
    } catch (error) {
      failure = error;
    } finally {
      liveEnded = true;
      waiter.wake?.();
    }
  })();

  let last = options.after;
  const fresh = (item: T): boolean => {
    const position = positionOf(item);
    if (last !== null && comparePositions(position, last) <= 0) return false;
    last = position;
    return true;
  };
  try {
    if (options.replay) {
      for await (const item of options.replay) {
        if (overflowed) break;
        if (fresh(item)) yield item;
      }
    }
    for (;;) {
      if (overflowed) {
        options.onOverflow();
        return;
      }
      const item = pending.shift();
      if (item !== undefined) {
        if (fresh(item)) yield item;
        continue;
      }
      if (liveEnded) {
        if (failure) throw failure;
        return;
      }
      await new Promise<void>((resolve) => (waiter.wake = resolve));
      waiter.wake = null;
    }
  } finally {
    await live.return?.();
    await pump;
  }
}

import { createPubSub } from '@graphql-yoga/subscription';
import { replayThenLive } from '../../src/application/feedReplay';
import type { Position } from '../../src/ports/eventStore';

interface Item {
  n: number;
  position: Position;
}
const item = (n: number): Item => ({ n, position: { commit: BigInt(n), prepare: BigInt(n) } });

function feed(options: { after?: number | null; replay?: (publish: (n: number) => void) => AsyncIterable<Item>; maxPending?: number }) {
  const pubSub = createPubSub<{ LIVE: [Item] }>();
  const publish = (n: number) => pubSub.publish('LIVE', item(n));
  let overflowed = 0;
  const merged = replayThenLive<Item>({
    live: pubSub.subscribe('LIVE'),
    replay: options.replay ? options.replay(publish) : null,
    after: options.after == null ? null : item(options.after).position,
    positionOf: (entry) => entry.position,
    maxPending: options.maxPending ?? 100,
    onOverflow: () => (overflowed += 1),
  });
  const take = async (count: number) => {
    const taken: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const next = await merged.next();
      if (next.done) break;
      taken.push(next.value.n);
    }
    return taken;
  };
  return { publish, take, merged, overflowed: () => overflowed };
}

describe('Replay then live', () => {
  it('should deliver the log after the cursor, then live events, dropping those the replay already delivered', async () => {
    const { publish, take, merged } = feed({
      after: 2,
      replay: (publishLive) =>
        (async function* () {
          // The log holds 2..5; while it is replayed the projection publishes 4, 5 and a new 6.
          yield item(2);
          yield item(3);
          publishLive(4);
          publishLive(5);
          publishLive(6);
          yield item(4);
          yield item(5);
        })(),
    });
    const first = take(4);
    expect(await first).toEqual([3, 4, 5, 6]);
    publish(7);
    expect(await take(1)).toEqual([7]);
    await merged.return?.();
  });

  it('should not miss a live event published before the replay starts reading', async () => {
    const { take, merged } = feed({
      after: 0,
      replay: (publishLive) =>
        (async function* () {
          publishLive(1); // published live before the log read returns it
          yield item(1);
        })(),
    });
    expect(await take(1)).toEqual([1]);
    const waiting = merged.next();
    const next = await Promise.race([waiting, new Promise((resolve) => setTimeout(() => resolve('nothing more'), 50))]);
    expect(next).toBe('nothing more');
    // A client leaving a quiet feed: the pending pull ends at once instead of waiting for another event.
    await merged.return?.();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });

  it('should end the feed and report the overflow when the consumer falls more than maxPending behind', async () => {
    const { publish, take, overflowed } = feed({ maxPending: 3 });
    const firstPull = take(1);
    publish(1);
    expect(await firstPull).toEqual([1]);
    for (let n = 2; n <= 6; n += 1) publish(n); // nobody pulls: 4 pending > 3
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await take(10)).toEqual([]);
    expect(overflowed()).toBe(1);
  });

  it('should deliver only live events without a cursor, and stop listening when the consumer leaves', async () => {
    const { publish, take, merged } = feed({});
    const pulled = take(2);
    publish(1);
    publish(2);
    expect(await pulled).toEqual([1, 2]);
    await merged.return?.();
    expect(await merged.next()).toEqual({ done: true, value: undefined });
  });
});

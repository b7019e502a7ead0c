import type { CommandHandler, HandledCommand } from '../../src/application/commandHandler';
import { readYourWrites } from '../../src/application/readYourWrites';
import type { Position } from '../../src/ports/eventStore';

const at = (commit: number): Position => ({ commit: BigInt(commit), prepare: BigInt(commit) });

/** A command handler whose appends land at the given positions, one per `handle` (null: a no-op), each writing `events`. */
function handlerLandingAt(positions: Array<Position | null>, events: Array<{ type: string }> = []): CommandHandler {
  return {
    handle: async () => ({ events, state: null, position: positions.shift() ?? null }) as unknown as HandledCommand<never, never>,
    aggregate: async () => ({ state: null as never, revision: null, lastLink: null, replayed: false }),
  };
}

describe('readYourWrites', () => {
  const handle = (handler: CommandHandler) => handler.handle('stream', { decide: () => [], evolve: (state) => state, initialState: () => null }, {}, { metadata: { actor: 'a', correlationId: 'c', causationId: 'c', schemaVersion: 1 }, retriesOnConflict: 0 });

  it('should wait, once, for the last position the use case appended at before returning its result', async () => {
    const waited: Position[] = [];
    const settled = readYourWrites(handlerLandingAt([at(7), null, at(9), at(8)]), { waitFor: async (position) => (waited.push(position), true) });
    const result = await settled(async (handler) => {
      for (let i = 0; i < 4; i += 1) await handle(handler);
      return 'done';
    });
    expect(result).toBe('done');
    expect(waited).toEqual([at(9)]);
  });

  it('should not wait when the use case wrote nothing (a no-op command)', async () => {
    const waited: Position[] = [];
    const settled = readYourWrites(handlerLandingAt([null]), { waitFor: async (position) => (waited.push(position), true) });
    await settled((handler) => handle(handler));
    expect(waited).toEqual([]);
  });

  it('should not wait when the use case fails, and pass its error on', async () => {
    const waited: Position[] = [];
    const settled = readYourWrites(handlerLandingAt([at(3)]), { waitFor: async (position) => (waited.push(position), true) });
    await expect(
      settled(async (handler) => {
        await handle(handler);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(waited).toEqual([]);
  });

  describe('when the read model does not reflect the write in time (a stalled projection)', () => {
    const onStream = (handler: CommandHandler, stream: string) => handler.handle(stream, { decide: () => [], evolve: (state) => state, initialState: () => null }, {}, { metadata: { actor: 'a', correlationId: 'c', causationId: 'c', schemaVersion: 1 }, retriesOnConflict: 0 });
    const stalled = { waitFor: async () => false };

    it("should name the keys whose verification changed, before returning, so this instance's cache can forget them", async () => {
      const late: Array<[readonly string[], Position]> = [];
      const settled = readYourWrites(handlerLandingAt([at(4), at(5)], [{ type: 'ApiKeyStatusChanged' }]), stalled, (keyIds, position) => void late.push([keyIds, position]));
      await settled(async (handler) => {
        await onStream(handler, 'apiKey-k1');
        await onStream(handler, 'account-acct'); // not a key: nothing to forget
      });
      expect(late).toEqual([[['k1'], at(5)]]);
    });

    it('should name no key when what was written does not change verification (a rename), nor when the wait succeeded', async () => {
      const late: unknown[] = [];
      await readYourWrites(handlerLandingAt([at(4)], [{ type: 'ApiKeyRenamed' }]), stalled, (...args) => void late.push(args))((handler) => onStream(handler, 'apiKey-k1'));
      await readYourWrites(handlerLandingAt([at(5)], [{ type: 'ApiKeyDeleted' }]), { waitFor: async () => true }, (...args) => void late.push(args))((handler) => onStream(handler, 'apiKey-k1'));
      expect(late).toEqual([]);
    });
  });
});

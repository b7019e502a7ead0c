import type { Position } from '../ports/eventStore';
import { comparePositions } from '../ports/eventStore';
import type { CommandHandler } from './commandHandler';

/** How far the read model has got: the projection runner. */
export interface ProjectionProgress {
  /** Resolves when the read model reflects the event at `position` (false after a timeout). */
  waitFor(position: Position): Promise<boolean>;
}

export type ReadYourWrites = <T>(useCase: (handler: CommandHandler) => Promise<T>) => Promise<T>;

/**
 * Read-your-writes, in one place: runs a use case with a command handler that notes where its
 * appends landed, and when the use case has succeeded waits until the read model reflects the last
 * of them, so the same instance's next read or verification sees the change. Verification caches
 * evict before that wait resolves (see ProjectionRunner), so a revoked key never answers from a
 * cache once its mutation returned.
 */
export function readYourWrites(handler: CommandHandler, projection: ProjectionProgress): ReadYourWrites {
  return async (useCase) => {
    let last: Position | null = null;
    const noting: CommandHandler = {
      aggregate: (streamName, decider, idempotency) => handler.aggregate(streamName, decider, idempotency),
      handle: async (streamName, decider, command, options) => {
        const handled = await handler.handle(streamName, decider, command, options);
        if (handled.position && (last === null || comparePositions(handled.position, last) > 0)) last = handled.position;
        return handled;
      },
    };
    const result = await useCase(noting);
    if (last) await projection.waitFor(last);
    return result;
  };
}

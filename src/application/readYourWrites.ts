import { changesVerification } from '../domain/apiKey/events';
import { keyIdOfStream } from '../eventLog/streams';
import type { Position } from '../ports/eventStore';
import { comparePositions } from '../ports/eventStore';
import type { CommandHandler } from './commandHandler';

/** How far the read model has got: the projection runner. */
export interface ProjectionProgress {
  /** Resolves when the read model reflects the event at `position` (false after a timeout). */
  waitFor(position: Position): Promise<boolean>;
}

export type ReadYourWrites = <T>(useCase: (handler: CommandHandler) => Promise<T>) => Promise<T>;

/** Told, before the mutation returns, which keys' verification changed when the read model did not reflect it in time. */
export type LateProjection = (keyIds: readonly string[], position: Position) => void;

/**
 * Read-your-writes, in one place: runs a use case with a command handler that notes where its
 * appends landed, and when the use case has succeeded waits until the read model reflects the last
 * of them, so the same instance's next read or verification sees the change. Verification caches
 * evict before that wait resolves (see ProjectionRunner), so a revoked key never answers from a
 * cache once its mutation returned. When the wait times out (a stalled projection), `late` is told
 * the keys whose verification the use case changed, and evicts them itself before the mutation
 * returns. The mutation then succeeds: its events are written (acknowledged) and no cache of this
 * instance answers from before them; the read model answers from before them until it catches up
 * (a projection that fails says so on /readyz).
 */
export function readYourWrites(handler: CommandHandler, projection: ProjectionProgress, late: LateProjection = () => undefined): ReadYourWrites {
  return async (useCase) => {
    let last: Position | null = null;
    const changedKeys = new Set<string>();
    const noting: CommandHandler = {
      aggregate: (streamName, decider, idempotency) => handler.aggregate(streamName, decider, idempotency),
      handle: async (streamName, decider, command, options) => {
        const handled = await handler.handle(streamName, decider, command, options);
        if (handled.position && (last === null || comparePositions(handled.position, last) > 0)) last = handled.position;
        const keyId = keyIdOfStream(streamName);
        if (keyId !== null && handled.events.some((event) => changesVerification((event as { type: string }).type))) changedKeys.add(keyId);
        return handled;
      },
    };
    const result = await useCase(noting);
    if (last && !(await projection.waitFor(last)) && changedKeys.size > 0) late([...changedKeys], last);
    return result;
  };
}

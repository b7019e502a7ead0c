import type { EventStore } from '../../ports/eventStore';
import { NO_STREAM, WrongExpectedVersionError, jsonEvent } from '../../ports/eventStore';

/** One stream per notice (what it is about, and its window or anchor instant): its creation is the claim. */
export const KEY_NOTICE_PREFIX = 'keyNotice-';

/**
 * Appends a notice's one event to a stream of its own with NO_STREAM: the event store's optimistic
 * concurrency lets exactly one claimer (of any instance, before or after a restart) write it.
 * Resolves true when this call did, false when the notice exists already.
 */
export async function claimNotice(store: EventStore, streamName: string, type: string, data: { [field: string]: string | number | null }, actor: string): Promise<boolean> {
  try {
    await store.appendToStream(streamName, [jsonEvent({ type, data, metadata: { actor, correlationId: streamName, causationId: streamName, schemaVersion: 1 } })], { expectedRevision: NO_STREAM });
    return true;
  } catch (error) {
    if (!(error instanceof WrongExpectedVersionError)) throw error;
    return false;
  }
}

import { WEBHOOK_REGISTRY_STREAM } from '../../domain/webhooks/webhookRegistry';
import type { EventStore, Position, RecordedEvent } from '../../ports/eventStore';
import { BACKWARDS, END, StreamNotFoundError } from '../../ports/eventStore';

/**
 * Where webhook processing that has no checkpoint yet starts: nothing before the first webhook
 * registration can be delivered, so a log of millions of older events is not read. Returns the
 * first registration (to fold, as subscriptions start after a position) or, with none yet, the
 * log's last position read *before* looking (so a registration appended meanwhile is not missed).
 */
export async function firstRegistration(store: EventStore): Promise<{ first: RecordedEvent | null; after: Position | null }> {
  let last: Position | null = null;
  for await (const resolved of store.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) {
    if (resolved.event) last = resolved.event.position;
  }
  try {
    for await (const resolved of store.readStream(WEBHOOK_REGISTRY_STREAM, { maxCount: 1 })) {
      if (resolved.event) return { first: resolved.event, after: resolved.event.position };
    }
  } catch (error) {
    if (!(error instanceof StreamNotFoundError)) throw error;
  }
  return { first: null, after: last };
}

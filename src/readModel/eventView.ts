import type { JSONObject, Position } from '../ports/eventStore';
import { actorOf, chainLinkOf, keyIdOfStream } from '../eventLog/streams';

/** One entry of a key's history, as `apiKeyHistory` and `apiKeyEvents` show it. */
export interface ApiKeyEventView {
  id: string;
  keyId: string;
  accountId: string;
  type: string;
  version: number;
  occurredAt: Date;
  actor: string;
  data: JSONObject;
  position: Position;
  /** The event's hash chain link (see src/domain/audit/hashChain.ts); null for an event written without one. */
  chainLink: string | null;
}

// What the event data holds for the service's own use and a history reader does not need.
const INTERNAL_FIELDS = new Set(['secretHash', 'previousSecretHash', 'keyId', 'accountId', 'occurredAt']);

/** The one mapping from a recorded (or projected) key event to what history and the live feeds show. */
export function eventView(event: {
  id: string;
  type: string;
  streamId: string;
  revision: number | bigint;
  data: JSONObject;
  metadata: JSONObject | undefined;
  position: Position;
}): ApiKeyEventView {
  return {
    id: event.id,
    keyId: keyIdOfStream(event.streamId) ?? String(event.data['keyId']),
    accountId: String(event.data['accountId']),
    type: event.type,
    version: Number(event.revision) + 1,
    occurredAt: new Date(String(event.data['occurredAt'])),
    actor: actorOf(event),
    data: Object.fromEntries(Object.entries(event.data).filter(([field]) => !INTERNAL_FIELDS.has(field))),
    position: event.position,
    chainLink: chainLinkOf(event) ?? null,
  };
}

import type { Client as WsClient } from 'graphql-ws';
import { stringifyDocument } from 'urql';
import { KeyEventsSubscription } from './operations';

export interface KeyEvent {
  cursor: string;
  keyId: string;
  type: string;
  version: number;
}

/**
 * Follows every lifecycle event of the account's keys. graphql-ws re-sends a subscription's
 * payload after a reconnect; the payload's variables are read at each send, so the resubscription
 * carries the last cursor received and the server replays exactly what was missed.
 */
export function followKeyEvents(ws: WsClient, onEvent: (event: KeyEvent) => void): () => void {
  let after: string | null = null;
  const payload = {
    query: stringifyDocument(KeyEventsSubscription),
    get variables() {
      return { after };
    },
  };
  return ws.subscribe<{ apiKeyEvents: KeyEvent }>(payload, {
    next: (result) => {
      const event = result.data?.apiKeyEvents;
      if (!event) return;
      after = event.cursor;
      onEvent(event);
    },
    error: () => undefined, // the connection's own events report loss and refusal
    complete: () => undefined,
  });
}

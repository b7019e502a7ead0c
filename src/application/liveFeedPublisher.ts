import type { StatusReason } from '../domain/apiKey/events';
import { isApiKeyEvent } from '../domain/apiKey/events';
import type { ProjectedEvent } from '../readModel/projectedEvent';
import type { Position } from '../ports/eventStore';
import type { ApiKeyEventView } from '../readModel/eventView';
import { eventView } from '../readModel/eventView';

/** A key's status as the status feed reports it. */
export const KEY_STATES = ['ENABLED', 'DISABLED', 'DELETED'] as const;
export type KeyState = (typeof KEY_STATES)[number];

export interface KeyStatusChangeView {
  keyId: string;
  accountId: string;
  status: KeyState;
  /** Why a key was disabled or enabled (OWNER or LEAKED); null for creation and deletion. */
  reason: StatusReason | null;
  occurredAt: Date;
  version: number;
  /** The event's place in the log: the live feed's cursor. */
  position: Position;
}

export interface LiveFeedSink {
  apiKeyEvent(accountId: string, event: ApiKeyEventView): void;
  keyStatusChanged(accountId: string, change: KeyStatusChangeView): void;
}

/** The status a lifecycle event gives its key, for the events that change it. */
function statusAfter(event: ApiKeyEventView): KeyState | null {
  switch (event.type) {
    case 'ApiKeyCreated':
      return 'ENABLED';
    case 'ApiKeyStatusChanged':
      return event.data['status'] === 'DISABLED' ? 'DISABLED' : 'ENABLED';
    case 'ApiKeyDeleted':
      return 'DELETED';
    default:
      return null;
  }
}

/** What one event of the log means for the live feeds: null for events that are not a key's lifecycle. */
export function feedItemsOf(event: ProjectedEvent): { event: ApiKeyEventView; statusChange: KeyStatusChangeView | null } | null {
  if (!isApiKeyEvent(event)) return null;
  const view = eventView(event);
  const status = statusAfter(view);
  const reason = view.data['reason'];
  return {
    event: view,
    statusChange:
      status === null
        ? null
        : {
            keyId: view.keyId,
            accountId: view.accountId,
            status,
            reason: reason === 'OWNER' || reason === 'LEAKED' ? reason : null,
            occurredAt: view.occurredAt,
            version: view.version,
            position: view.position,
          },
  };
}

/**
 * Turns the events the projection has just applied into the live feeds. Fed from the read side,
 * never from the mutation code path, so every instance on a shared log pushes the same events in
 * the same order, whichever instance served the mutation.
 */
export function publishApplied(events: readonly ProjectedEvent[], sink: LiveFeedSink): void {
  for (const event of events) {
    const items = feedItemsOf(event);
    if (!items) continue;
    sink.apiKeyEvent(items.event.accountId, items.event);
    if (items.statusChange) sink.keyStatusChanged(items.statusChange.accountId, items.statusChange);
  }
}

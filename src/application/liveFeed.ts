import { isApiKeyEvent } from '../domain/apiKey/events';
import type { ProjectedEvent } from '../../projections/projectedEvent';
import type { ApiKeyEventView } from './views';
import { eventView } from './views';

export type KeyState = 'ENABLED' | 'DISABLED' | 'DELETED';

export interface KeyStatusChangeView {
  keyId: string;
  accountId: string;
  status: KeyState;
  occurredAt: Date;
  version: number;
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

/**
 * Turns the events the projection has just applied into the live feeds. Fed from the read side,
 * never from the mutation code path, so every instance on a shared log pushes the same events in
 * the same order, whichever instance served the mutation.
 */
export function publishApplied(events: readonly ProjectedEvent[], sink: LiveFeedSink): void {
  for (const event of events) {
    if (!isApiKeyEvent(event)) continue;
    const view = eventView(event);
    sink.apiKeyEvent(view.accountId, view);
    const status = statusAfter(view);
    if (status) sink.keyStatusChanged(view.accountId, { keyId: view.keyId, accountId: view.accountId, status, occurredAt: view.occurredAt, version: view.version });
  }
}

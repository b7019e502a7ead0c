import { DomainError } from '../domain/errors';
import type { Caller } from './caller';
import { parseCursor } from './feedCursor';
import { replayThenLive } from './feedReplay';
import type { KeyStatusChangeView } from './liveFeedPublisher';
import { feedItemsOf } from './liveFeedPublisher';
import type { EventStore, Position } from '../ports/eventStore';
import { keyIdOfStream } from '../eventLog/streams';
import type { ApiKeyEventView } from '../readModel/eventView';
import type { WebhookStatusChangeView } from './webhooks/webhookDeliveryLog';
import { toProjectedEvent } from '../readModel/projectedEvent';

/** The live side: what the projection has applied, per account (the pub/sub topics). */
export interface LiveSource {
  apiKeyEvents(accountId: string): AsyncIterable<ApiKeyEventView>;
  keyStatusChanges(accountId: string): AsyncIterable<KeyStatusChangeView>;
  webhookStatusChanges(accountId: string): AsyncIterable<WebhookStatusChangeView>;
}

/**
 * The subscriptions' feeds. Without a cursor: live events from now on. With one: every event of
 * the caller's account after it, read from the log, then live ones, with no gap and no duplicate.
 * Either way a consumer that falls more than `maxPending` events behind is cut off through
 * `onOverflow` (it resumes with its last cursor).
 */
export class LiveFeeds {
  constructor(
    private readonly store: EventStore,
    private readonly live: LiveSource,
    private readonly maxPending: number,
    /** Log events a replay may read past its cursor (every tenant's count), before the cursor is refused as too old. */
    private readonly maxReplayed: number,
  ) {}

  apiKeyEvents(caller: Caller, after: string | null | undefined, onOverflow: () => void): AsyncIterableIterator<ApiKeyEventView> {
    const from = after ? parseCursor(after) : null;
    return replayThenLive({
      live: this.live.apiKeyEvents(caller.accountId),
      replay: from && this.replay(caller.accountId, from, (items) => items.event),
      after: from,
      positionOf: (event) => event.position,
      maxPending: this.maxPending,
      onOverflow,
    });
  }

  keyStatusChanges(caller: Caller, keyId: string | null | undefined, after: string | null | undefined, onOverflow: () => void): AsyncIterableIterator<KeyStatusChangeView> {
    const from = after ? parseCursor(after) : null;
    const wanted = (change: KeyStatusChangeView | null): change is KeyStatusChangeView => change !== null && (!keyId || change.keyId === keyId);
    return replayThenLive({
      live: this.live.keyStatusChanges(caller.accountId),
      accept: wanted,
      replay: from && this.replay(caller.accountId, from, (items) => (wanted(items.statusChange) ? items.statusChange : null)),
      after: from,
      positionOf: (change) => change.position,
      maxPending: this.maxPending,
      onOverflow,
    });
  }

  /** The caller's account's webhooks disabled from now on (live only: no cursor). */
  webhookStatusChanges(caller: Caller, onOverflow: () => void): AsyncIterableIterator<WebhookStatusChangeView> {
    return replayThenLive({ live: this.live.webhookStatusChanges(caller.accountId), replay: null, after: null, positionOf: (change) => change.position, maxPending: this.maxPending, onOverflow });
  }

  /** The account's key events in the log from a position on (the position's own event is dropped by the merge). */
  private async *replay<T>(accountId: string, from: Position, pick: (items: NonNullable<ReturnType<typeof feedItemsOf>>) => T | null): AsyncGenerator<T> {
    let read = 0;
    for await (const resolved of this.store.readAll({ fromPosition: from })) {
      if ((read += 1) > this.maxReplayed) {
        throw new DomainError('BAD_USER_INPUT', `the cursor is more than ${this.maxReplayed} log events old: reload the keys and subscribe again without a cursor`, 'after');
      }
      const recorded = resolved.event;
      if (!recorded || keyIdOfStream(recorded.streamId) === null || recorded.data['accountId'] !== accountId) continue;
      const items = feedItemsOf(toProjectedEvent(recorded));
      const item = items && pick(items);
      if (item) yield item;
    }
  }
}

import { createPubSub } from '@graphql-yoga/subscription';
import type { KeyStatusChangeView, LiveFeedSink } from '../application/liveFeedPublisher';
import type { LiveSource } from '../application/liveFeedSubscriptions';
import type { WebhookStatusChangeView } from '../application/webhooks/webhookDeliveryLog';
import type { ApiKeyEventView } from '../readModel/eventView';

/** Topics are routed by account, so a subscriber only ever receives its own account's events. */
export type Topics = {
  API_KEY_EVENTS: [accountId: string, payload: ApiKeyEventView];
  KEY_STATUS_CHANGED: [accountId: string, payload: KeyStatusChangeView];
  WEBHOOK_STATUS_CHANGED: [accountId: string, payload: WebhookStatusChangeView];
};

export type KeyhubPubSub = ReturnType<typeof createPubSub<Topics>>;

export const createKeyhubPubSub = (): KeyhubPubSub => createPubSub<Topics>();

export const pubSubSink = (pubSub: KeyhubPubSub): LiveFeedSink => ({
  apiKeyEvent: (accountId, event) => pubSub.publish('API_KEY_EVENTS', accountId, event),
  keyStatusChanged: (accountId, change) => pubSub.publish('KEY_STATUS_CHANGED', accountId, change),
});

/** Webhook status changes go to their account's feed only. */
export const publishWebhookStatusChange = (pubSub: KeyhubPubSub) => (change: WebhookStatusChangeView) => pubSub.publish('WEBHOOK_STATUS_CHANGED', change.accountId, change);

/** `subscribed`: told once a feed's listener is attached (a Repeater attaches it in its first `next`). */
export const pubSubLiveSource = (pubSub: KeyhubPubSub, subscribed?: (accountId: string) => void): LiveSource => ({
  apiKeyEvents: (accountId) => observed(pubSub.subscribe('API_KEY_EVENTS', accountId), accountId, subscribed),
  keyStatusChanges: (accountId) => observed(pubSub.subscribe('KEY_STATUS_CHANGED', accountId), accountId, subscribed),
  webhookStatusChanges: (accountId) => observed(pubSub.subscribe('WEBHOOK_STATUS_CHANGED', accountId), accountId, subscribed),
});

function observed<T>(feed: AsyncIterableIterator<T>, accountId: string, subscribed: ((accountId: string) => void) | undefined): AsyncIterableIterator<T> {
  if (!subscribed) return feed;
  let first = true;
  return {
    next: () => {
      const result = feed.next();
      if (first) (first = false), subscribed(accountId);
      return result;
    },
    return: () => feed.return?.() ?? Promise.resolve({ done: true, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

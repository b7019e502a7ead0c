import { createPubSub } from '@graphql-yoga/subscription';
import type { KeyStatusChangeView, LiveFeedSink } from '../application/liveFeedPublisher';
import type { LiveSource } from '../application/liveFeedSubscriptions';
import type { ApiKeyEventView } from '../readModel/eventView';

/** Topics are routed by account, so a subscriber only ever receives its own account's events. */
export type Topics = {
  API_KEY_EVENTS: [accountId: string, payload: ApiKeyEventView];
  KEY_STATUS_CHANGED: [accountId: string, payload: KeyStatusChangeView];
};

export type KeyhubPubSub = ReturnType<typeof createPubSub<Topics>>;

export const createKeyhubPubSub = (): KeyhubPubSub => createPubSub<Topics>();

export const pubSubSink = (pubSub: KeyhubPubSub): LiveFeedSink => ({
  apiKeyEvent: (accountId, event) => pubSub.publish('API_KEY_EVENTS', accountId, event),
  keyStatusChanged: (accountId, change) => pubSub.publish('KEY_STATUS_CHANGED', accountId, change),
});

export const pubSubLiveSource = (pubSub: KeyhubPubSub): LiveSource => ({
  apiKeyEvents: (accountId) => pubSub.subscribe('API_KEY_EVENTS', accountId),
  keyStatusChanges: (accountId) => pubSub.subscribe('KEY_STATUS_CHANGED', accountId),
});

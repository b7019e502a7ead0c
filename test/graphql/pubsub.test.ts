import { createKeyhubPubSub, pubSubLiveSource } from '../../src/graphql/pubsub';
import type { ApiKeyEventView } from '../../src/readModel/eventView';

describe('The live feeds\' pub/sub', () => {
  describe('when a feed subscribes', () => {
    it('should say so once it listens, so that an event published from then on reaches it', async () => {
      const pubSub = createKeyhubPubSub();
      const listening: string[] = [];
      const feed = pubSubLiveSource(pubSub, (accountId) => listening.push(accountId)).apiKeyEvents('acct-1')[Symbol.asyncIterator]();
      expect(listening).toEqual([]); // not before the feed is pulled: nothing listens yet
      const next = feed.next();
      expect(listening).toEqual(['acct-1']);
      const event = { id: 'evt-1', keyId: 'key-1' } as unknown as ApiKeyEventView;
      pubSub.publish('API_KEY_EVENTS', 'acct-1', event);
      await expect(next).resolves.toEqual({ done: false, value: event });
      feed.next().catch(() => undefined);
      expect(listening).toEqual(['acct-1']); // once per feed
      await feed.return?.();
    });

    it('should route by account: another account\'s event never reaches it', async () => {
      const pubSub = createKeyhubPubSub();
      const feed = pubSubLiveSource(pubSub).keyStatusChanges('acct-1')[Symbol.asyncIterator]();
      const next = feed.next();
      pubSub.publish('KEY_STATUS_CHANGED', 'acct-2', { keyId: 'theirs' } as never);
      pubSub.publish('KEY_STATUS_CHANGED', 'acct-1', { keyId: 'mine' } as never);
      await expect(next).resolves.toMatchObject({ value: { keyId: 'mine' } }); // the first to arrive is the account's own
      await feed.return?.();
    });
  });
});

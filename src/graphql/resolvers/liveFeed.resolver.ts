import { Arg, ID, Resolver, Root, Subscription } from 'type-graphql';
import type { KeyStatusChangeView } from '../../application/liveFeed';
import type { ApiKeyEventView } from '../../application/views';
import type { GraphQLContext } from '../context';
import { ApiKeyEvent, KeyStatusChange } from '../types/events.type';

const callerAccount = ({ context }: { context: GraphQLContext }): string => context.caller.accountId;

/** Live feeds over graphql-ws, routed by the caller's account (the topic id), so no other account's event is ever delivered. */
@Resolver()
export class LiveFeedResolver {
  @Subscription(() => KeyStatusChange, {
    topics: 'KEY_STATUS_CHANGED',
    topicId: callerAccount,
    filter: ({ payload, args }: { payload: KeyStatusChangeView; args: { id?: string | null } }) => !args.id || payload.keyId === args.id,
    description: "Status changes (creation, enable, disable, deletion) of the caller's account's keys; of one key when id is given.",
  })
  keyStatusChanged(@Root() change: KeyStatusChangeView, @Arg('id', () => ID, { nullable: true }) _id: string | null): KeyStatusChangeView {
    return change;
  }

  @Subscription(() => ApiKeyEvent, {
    topics: 'API_KEY_EVENTS',
    topicId: callerAccount,
    description: "Every lifecycle event of the caller's account's keys, as it happens (for dashboards and audit tails).",
  })
  apiKeyEvents(@Root() event: ApiKeyEventView): ApiKeyEventView {
    return event;
  }
}

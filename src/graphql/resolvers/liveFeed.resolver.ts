import { Arg, Ctx, FieldResolver, ID, Resolver, Root, Subscription } from 'type-graphql';
import { cursorOf } from '../../application/feedCursor';
import type { KeyStatusChangeView } from '../../application/liveFeedPublisher';
import type { ApiKeyEventView } from '../../readModel/eventView';
import type { GraphQLContext } from '../context';
import { ApiKeyEventObject, KeyStatusChange } from '../types/events.type';

interface FeedArgs {
  id?: string | null;
  after?: string | null;
}
type FeedData = { args: FeedArgs; context: GraphQLContext };

const cutOff = (context: GraphQLContext) => () => context.connection?.cutOffSlowConsumer();

const CURSOR_DESCRIPTION =
  'The position of the event in the log. Subscribe again with after: <the last cursor you received> to get every event you missed, in order and without duplicates, then live ones.';

/**
 * Live feeds over graphql-ws, only ever of the caller's account. With `after`, the feed first
 * replays the log from that cursor. A client that falls too far behind is disconnected (close code
 * 4413) and resumes with its cursor.
 */
@Resolver(() => ApiKeyEventObject)
export class LiveFeedResolver {
  @Subscription(() => KeyStatusChange, {
    subscribe: ({ args, context }: FeedData) => context.services.liveFeeds.keyStatusChanges(context.caller, args.id, args.after, cutOff(context)),
    description: "Status changes (creation, enable, disable, deletion) of the caller's account's keys; of one key when id is given. With after: first those since that cursor.",
  })
  keyStatusChanged(
    @Root() change: KeyStatusChangeView,
    @Arg('id', () => ID, { nullable: true }) _id: string | null,
    @Arg('after', () => String, { nullable: true, description: 'A cursor from an earlier item: resume right after it.' }) _after: string | null,
  ): KeyStatusChangeView {
    return change;
  }

  @Subscription(() => ApiKeyEventObject, {
    subscribe: ({ args, context }: FeedData) => context.services.liveFeeds.apiKeyEvents(context.caller, args.after, cutOff(context)),
    description: "Every lifecycle event of the caller's account's keys, as it happens (for dashboards and audit tails). With after: first those since that cursor.",
  })
  apiKeyEvents(
    @Root() event: ApiKeyEventView,
    @Arg('after', () => String, { nullable: true, description: 'A cursor from an earlier event: resume right after it.' }) _after: string | null,
  ): ApiKeyEventView {
    return event;
  }

  @FieldResolver(() => String, { description: CURSOR_DESCRIPTION })
  cursor(@Root() event: ApiKeyEventView): string {
    return cursorOf(event.position);
  }
}

@Resolver(() => KeyStatusChange)
export class KeyStatusChangeResolver {
  @FieldResolver(() => String, { description: CURSOR_DESCRIPTION })
  cursor(@Root() change: KeyStatusChangeView): string {
    return cursorOf(change.position);
  }
}

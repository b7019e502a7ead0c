import { Arg, Ctx, ID, Int, Mutation, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { DeliveryState, WebhookStatusChangeView } from '../../application/webhooks/webhookDeliveryLog';
import type { WebhookView } from '../../domain/webhooks/webhookRegistry';
import type { GraphQLContext } from '../context';
import { CreateWebhookPayload, Webhook, WebhookDelivery, WebhookStatusChange } from '../types/webhook.type';

const webhookOf = (view: WebhookView): Webhook => ({ id: view.id, url: view.url, events: [...view.events], enabled: view.enabled, createdAt: new Date(view.createdAt) });
const deliveryOf = (delivery: DeliveryState): WebhookDelivery => ({
  id: delivery.id,
  event: delivery.kind,
  status: delivery.status,
  attempts: delivery.attempts,
  lastStatusCode: delivery.lastStatusCode,
  createdAt: new Date(delivery.createdAt),
  deliveredAt: delivery.deliveredAt === null ? null : new Date(delivery.deliveredAt),
});

@Resolver(() => Webhook)
export class WebhookResolver {
  @Subscription(() => WebhookStatusChange, {
    subscribe: ({ context }: { context: GraphQLContext }) => context.services.liveFeeds.webhookStatusChanges(context.caller, () => context.connection?.cutOffSlowConsumer()),
    description: "The caller's account's webhooks as they change status: a webhook whose endpoint failed for the whole retry window (a day by default) is disabled, and told here. Live only (no cursor).",
  })
  webhookStatusChanged(@Root() change: WebhookStatusChangeView): WebhookStatusChange {
    return change;
  }

  @Query(() => [Webhook])
  async webhooks(@Ctx() { caller, services }: GraphQLContext): Promise<Webhook[]> {
    return (await services.webhooks.list(caller)).map(webhookOf);
  }

  @Query(() => [WebhookDelivery])
  async webhookDeliveries(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('webhookId', () => ID) webhookId: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
  ): Promise<WebhookDelivery[]> {
    return (await services.webhooks.history(caller, webhookId, first ?? 20)).map(deliveryOf);
  }

  @Mutation(() => CreateWebhookPayload, { description: 'Deliveries are POSTed as JSON, signed, retried with backoff, at least once.' })
  async createWebhook(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('url', () => String) url: string,
    @Arg('events', () => [String]) events: string[],
  ): Promise<CreateWebhookPayload> {
    const { webhook, signingSecret } = await services.webhooks.create(caller, url, events);
    return { webhook: webhookOf(webhook), signingSecret };
  }

  @Mutation(() => ID)
  deleteWebhook(@Ctx() { caller, services }: GraphQLContext, @Arg('id', () => ID) id: string): Promise<string> {
    return services.webhooks.delete(caller, id);
  }
}

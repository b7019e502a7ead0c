import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from '../scalars';

@ObjectType()
export class Webhook {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  url!: string;

  @Field(() => [String], { description: 'Event kinds delivered, e.g. KEY_EXPIRING, KEY_LEAK_REPORTED, KEY_DISABLED, KEY_DELETED, KEY_ROTATED, LIMIT_REACHED, KEY_UNUSED.' })
  events!: string[];

  @Field(() => Boolean)
  enabled!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}

@ObjectType()
export class CreateWebhookPayload {
  @Field(() => Webhook)
  webhook!: Webhook;

  @Field(() => String, { description: "HMAC-SHA256 signing secret for the deliveries' signature header: returned here once." })
  signingSecret!: string;
}

@ObjectType()
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => String)
  event!: string;

  @Field(() => String, { description: 'PENDING, DELIVERED, or FAILED after the last retry.' })
  status!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => Int, { nullable: true })
  lastStatusCode!: number | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  deliveredAt!: Date | null;
}

@ObjectType({ description: "A webhook of the caller's account changed status: today, disabled because its endpoint failed for the whole retry window." })
export class WebhookStatusChange {
  @Field(() => ID)
  webhookId!: string;

  @Field(() => ID)
  accountId!: string;

  @Field(() => Boolean, { description: 'The webhook is enabled after this change (false: nothing more is sent to it).' })
  enabled!: boolean;

  @Field(() => String, { description: 'Why, e.g. "deliveries failed for the whole retry window".' })
  reason!: string;

  @Field(() => DateTimeScalar)
  occurredAt!: Date;
}

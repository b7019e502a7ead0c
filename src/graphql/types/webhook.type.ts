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

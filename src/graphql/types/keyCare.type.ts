import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar } from '../scalars';
import { ApiKey } from './apiKey.type';

@ObjectType()
export class RotateApiKeyPayload {
  @Field(() => ApiKey, { description: 'The key with its new masked secret; id, name, scope, allowlist, history and last use unchanged.' })
  apiKey!: ApiKey;

  @Field(() => String, { description: 'The new secret: returned here once and never again.' })
  secret!: string;

  @Field(() => DateTimeScalar, { description: 'Until this instant the previous secret keeps verifying (with rotationDeadline set); the rotation instant itself for a grace period of 0.' })
  previousSecretValidUntil!: Date;
}

@ObjectType({ description: 'The same answer whether or not the secret belonged to a key.' })
export class LeakReportReceipt {
  @Field(() => Boolean)
  received!: boolean;

  @Field(() => String)
  message!: string;
}

@ObjectType({ description: "The result of recomputing a key's tamper-evident history (the hash chain in its events' metadata)." })
export class HistoryVerification {
  @Field(() => ID)
  keyId!: string;

  @Field(() => Boolean, { description: 'True when every stored event matches its link.' })
  intact!: boolean;

  @Field(() => Int)
  eventCount!: number;

  @Field(() => String, { nullable: true, description: "The newest event's link. Record it elsewhere: a later check that ends in the same link proves nothing was edited or cut off since." })
  headLink!: string | null;

  @Field(() => Int, { nullable: true, description: 'The version of the first event that does not match; null when intact.' })
  firstBrokenVersion!: number | null;

  @Field(() => ID, { nullable: true })
  firstBrokenEventId!: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'LINK_MISMATCH (content or link edited), MISSING_LINK (an event without a link), UNKEYED_LINK (an unkeyed link after a keyed one: rewritten without the audit key) or UNKNOWN_KEY (a keyed link made with an audit key this server does not hold).',
  })
  problem!: string | null;

  @Field(() => Int, {
    description:
      'Events (up to the first break) whose link is unkeyed SHA-256, written before AUDIT_HMAC_KEY was set: whoever can write the store could have rewritten those and recomputed their links. 0 when every link is keyed.',
  })
  unkeyedEventCount!: number;
}

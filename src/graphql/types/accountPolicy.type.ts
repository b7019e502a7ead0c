import { Field, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: "An account's rules for its keys. Null means no rule." })
export class AccountPolicy {
  @Field(() => Int, { nullable: true, description: 'New keys (and expiry changes) must expire within this many days.' })
  maxKeyLifetimeDays!: number | null;

  @Field(() => Int, { nullable: true, description: 'Expiry given to a new key created without one.' })
  defaultKeyLifetimeDays!: number | null;

  @Field(() => Int, { nullable: true, description: 'KEY_EXPIRING is sent this many days before a key expires.' })
  expiryWarningDays!: number | null;

  @Field(() => Int, { nullable: true, description: 'KEY_UNUSED is sent once a key has not been used for this many days.' })
  unusedAfterDays!: number | null;
}

@InputType()
export class AccountPolicyInput {
  @Field(() => Int, { nullable: true })
  maxKeyLifetimeDays?: number | null;

  @Field(() => Int, { nullable: true })
  defaultKeyLifetimeDays?: number | null;

  @Field(() => Int, { nullable: true })
  expiryWarningDays?: number | null;

  @Field(() => Int, { nullable: true })
  unusedAfterDays?: number | null;
}

import { Field, ID, ObjectType } from 'type-graphql';
import { AccessScope } from './apiKey.type';
import { VerifyFailure } from './enums';

/** The GraphQL VerificationResult (the domain's VerificationResult is what it shows). */
@ObjectType('VerificationResult')
export class VerificationResultObject {
  @Field(() => Boolean)
  valid!: boolean;

  @Field(() => VerifyFailure, { nullable: true, description: 'Null when valid.' })
  reason!: VerifyFailure | null;

  @Field(() => ID, { nullable: true, description: 'Null when the key is unknown.' })
  keyId!: string | null;

  @Field(() => ID, { nullable: true })
  accountId!: string | null;

  @Field(() => AccessScope, { nullable: true })
  scope!: AccessScope | null;
}

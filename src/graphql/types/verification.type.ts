import { Field, ID, Int, ObjectType } from 'type-graphql';
import { JSONScalar } from '../scalars';
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

  @Field(() => Int, { nullable: true, description: 'With RATE_LIMITED or QUOTA_EXHAUSTED: seconds until the limit that was hit frees up.' })
  retryAfterSeconds!: number | null;

  @Field(() => JSONScalar, { nullable: true, description: "The key's metadata (owner-set JSON, at most 1 KB), for the gateway's routing; null when unknown." })
  metadata!: object | null;
}

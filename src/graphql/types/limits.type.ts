import { Field, ID, InputType, Int, ObjectType } from 'type-graphql';
import { LIMIT_MAX } from '../../domain/rules/limits';
import { DateTimeScalar, JSONScalar } from '../scalars';

// Inputs carry no validation of their own: the domain's rules (limits.ts, tokenUsage.ts) are the one source of truth.

@InputType({ description: `Null means no limit of that kind. Each given value is at least 1 (at most ${LIMIT_MAX}).` })
export class KeyLimitsInput {
  @Field(() => Int, { nullable: true })
  requestsPerMinute?: number | null;

  @Field(() => Int, { nullable: true })
  requestsPerDay?: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerMinute?: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerDay?: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerMonth?: number | null;
}

@ObjectType({ description: 'Counted in fixed UTC windows: the minute, the day from 00:00 UTC, the calendar month. Null: no limit of that kind.' })
export class KeyLimits {
  @Field(() => Int, { nullable: true })
  requestsPerMinute!: number | null;

  @Field(() => Int, { nullable: true })
  requestsPerDay!: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerMinute!: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerDay!: number | null;

  @Field(() => Int, { nullable: true })
  tokensPerMonth!: number | null;
}

@InputType({ description: 'What a gateway reports after a model call made with a key.' })
export class TokenUsageInput {
  @Field(() => ID)
  keyId!: string;

  @Field(() => String, { nullable: true })
  model?: string | null;

  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;

  @Field(() => DateTimeScalar, { nullable: true, description: 'When the call happened; defaults to now. At most 1 hour in the past.' })
  at?: Date | null;
}

@ObjectType({ description: 'Use of one key in one time bucket [start, start + granularity).' })
export class UsageBucket {
  @Field(() => DateTimeScalar)
  start!: Date;

  @Field(() => Int, { description: 'Verifications that answered valid.' })
  requests!: number;

  @Field(() => Int, { description: 'Verifications that answered invalid for a known key, all reasons.' })
  denied!: number;

  @Field(() => JSONScalar, { description: 'Denied verifications by reason, e.g. { "RATE_LIMITED": 3 }.' })
  deniedByReason!: Record<string, number>;

  @Field(() => Int)
  promptTokens!: number;

  @Field(() => Int)
  completionTokens!: number;
}

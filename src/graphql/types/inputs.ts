import { Field, InputType } from 'type-graphql';
import { DateTimeScalar, JSONScalar } from '../scalars';
import { KeyLimitsInput } from './limits.type';
import { ApiKeyStatus, ScopeMode } from './enums';

// Inputs carry no validation of their own: the domain's rules are the one source of truth.

@InputType()
export class AccessScopeInput {
  @Field(() => ScopeMode)
  mode!: ScopeMode;

  @Field(() => [String], { nullable: true })
  models?: string[] | null;

  @Field(() => [String], { nullable: true })
  services?: string[] | null;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String)
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => String, { nullable: true, description: "Defaults to the server's configured default region." })
  region?: string | null;

  @Field(() => AccessScopeInput, { nullable: true, description: 'Defaults to { mode: ALL }.' })
  scope?: AccessScopeInput | null;

  @Field(() => [String], { nullable: true })
  ipAllowlist?: string[] | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Must lie in the future when given.' })
  expiresAt?: Date | null;

  @Field(() => Boolean, { description: 'The caller has agreed to the terms and understands the risks; must be true. Recorded in the key\'s history.' })
  acceptTerms!: boolean;

  @Field(() => KeyLimitsInput, { nullable: true, description: 'Request and token limits; none when absent.' })
  limits?: KeyLimitsInput | null;

  @Field(() => JSONScalar, { nullable: true, description: 'Owner-set JSON object returned on every valid verification; at most 1 KB.' })
  metadata?: unknown;
}

@InputType()
export class ApiKeyFilter {
  @Field(() => ApiKeyStatus, { nullable: true })
  status?: ApiKeyStatus | null;

  @Field(() => String, { nullable: true })
  region?: string | null;

  @Field(() => String, { nullable: true, description: 'Case-insensitive substring of the name or description.' })
  search?: string | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Keys not used since this instant (never-used keys included): the clean-up view.' })
  unusedSince?: Date | null;
}

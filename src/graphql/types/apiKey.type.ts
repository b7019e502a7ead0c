import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DEFAULT_KEY_LIMIT } from '../../domain/account/account';
import { DESCRIPTION_MAX } from '../../domain/rules/description';
import { IP_ALLOWLIST_MAX } from '../../domain/rules/ipAllowlist';
import { NAME_MAX, NAME_MIN } from '../../domain/rules/name';
import { METADATA_MAX_BYTES } from '../../domain/rules/metadata';
import { DateTimeScalar, JSONScalar } from '../scalars';
import { KeyLimits } from './limits.type';
import { ApiKeyStatus, ScopeMode } from './enums';

@ObjectType()
export class AccessScope {
  @Field(() => ScopeMode)
  mode!: ScopeMode;

  @Field(() => [String], { description: 'Empty when mode is ALL.' })
  models!: string[];

  @Field(() => [String], { description: 'Empty when mode is ALL.' })
  services!: string[];
}

@ObjectType()
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => ID)
  accountId!: string;

  @Field(() => String, { description: `${NAME_MIN} to ${NAME_MAX} characters: letters of any script (Chinese included), digits, _ and -, and single spaces between words.` })
  name!: string;

  @Field(() => String, { nullable: true, description: `Optional, at most ${DESCRIPTION_MAX} characters.` })
  description!: string | null;

  @Field(() => String, { description: 'Where the key lives; set at creation, never changed.' })
  region!: string;

  @Field(() => String, { description: 'First 5 characters of the secret + *** + last 4, e.g. sk-a1***9xQz. The full secret is never returned after creation.' })
  maskedKey!: string;

  @Field(() => ApiKeyStatus)
  status!: ApiKeyStatus;

  @Field(() => AccessScope)
  scope!: AccessScope;

  @Field(() => [String], { description: `IPv4/IPv6 addresses and CIDR ranges allowed to use the key, normalised; empty means any address. At most ${IP_ALLOWLIST_MAX}.` })
  ipAllowlist!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Null when the key has never been used.' })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Null when the key never expires.' })
  expiresAt!: Date | null;

  @Field(() => KeyLimits)
  limits!: KeyLimits;

  @Field(() => JSONScalar, { nullable: true, description: `Owner-set JSON object (at most ${METADATA_MAX_BYTES} bytes) returned by every valid verification; null when none.` })
  metadata!: object | null;

  @Field(() => Int, { description: 'Number of lifecycle events of the key so far (1 right after creation). Pass it as expectedVersion for optimistic concurrency.' })
  version!: number;
}

@ObjectType()
export class CreateApiKeyPayload {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { description: 'The full secret: returned here once and never again.' })
  secret!: string;
}

@ObjectType()
export class DeleteApiKeyPayload {
  @Field(() => ID)
  id!: string;

  @Field(() => DateTimeScalar)
  deletedAt!: Date;
}

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class ApiKeyConnection {
  @Field(() => [ApiKey])
  nodes!: ApiKey[];

  @Field(() => Int)
  totalCount!: number;

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType()
export class Quota {
  @Field(() => Int, { description: `Most keys (not deleted) the account may hold; ${DEFAULT_KEY_LIMIT} unless changed.` })
  limit!: number;

  @Field(() => Int)
  used!: number;
}

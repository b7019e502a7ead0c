import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { PAGE_SIZE_MAX } from '../../application/apiKeyQueries';
import { DateTimeScalar } from '../scalars';
import type { GraphQLContext } from '../context';
import { ApiKey, ApiKeyConnection, CreateApiKeyPayload, DeleteApiKeyPayload } from '../types/apiKey.type';
import { ApiKeyEventObject } from '../types/events.type';
import { ApiKeyOrder, ApiKeyStatus, UsageGranularity } from '../types/enums';
import { KeyLimitsInput, UsageBucket } from '../types/limits.type';
import { DEFAULT_USAGE_GRANULARITY } from '../../domain/usageWindows';
import { USAGE_BUCKETS_MAX } from '../../application/usageQueries';
import { JSONScalar } from '../scalars';
import { AccessScopeInput, ApiKeyFilter, CreateApiKeyInput } from '../types/inputs';

/** The console's operations on the caller's account's keys. Thin: arguments in, service call, view out. */
@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => ApiKeyConnection, { description: `The caller's account's keys, not deleted ones. first: 1 to ${PAGE_SIZE_MAX}.` })
  apiKeys(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('filter', () => ApiKeyFilter, { nullable: true }) filter: ApiKeyFilter | null,
    @Arg('orderBy', () => ApiKeyOrder, { nullable: true, defaultValue: ApiKeyOrder.CREATED_AT_DESC }) orderBy: ApiKeyOrder | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
  ) {
    return services.queries.list(caller, filter, orderBy ?? ApiKeyOrder.CREATED_AT_DESC, first ?? 20, after);
  }

  @Query(() => ApiKey, {
    nullable: true,
    description:
      'Null when the key does not exist, was deleted, or belongs to another account. With asOf: the key as it stood at that instant, rebuilt from its history (a deleted key can be seen as it was before deletion).',
  })
  apiKey(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf: Date | null,
  ) {
    return services.queries.get(caller, id, asOf);
  }

  @Query(() => [ApiKeyEventObject], {
    description:
      'Full lifecycle history of a key of the caller\'s account (every event that changed its version), oldest first, deleted keys included. Uses are not listed here. NOT_FOUND when there is none.',
  })
  apiKeyHistory(@Ctx() { caller, services }: GraphQLContext, @Arg('id', () => ID) id: string) {
    return services.queries.history(caller, id);
  }

  @Mutation(() => CreateApiKeyPayload)
  createApiKey(@Ctx() { caller, services }: GraphQLContext, @Arg('input', () => CreateApiKeyInput) input: CreateApiKeyInput) {
    return services.commands.create(caller, input);
  }

  @Mutation(() => ApiKey)
  renameApiKey(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('name', () => String) name: string,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.rename(caller, id, name, expectedVersion);
  }

  @Mutation(() => ApiKey)
  updateDescription(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.updateDescription(caller, id, description, expectedVersion);
  }

  @Mutation(() => ApiKey)
  setKeyStatus(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('status', () => ApiKeyStatus) status: ApiKeyStatus,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.setStatus(caller, id, status, expectedVersion);
  }

  @Mutation(() => ApiKey, {
    description: 'Replaces the access scope and, when ipAllowlist is given, the IP allowlist. The new scope takes effect for every later verification.',
  })
  updateScope(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('scope', () => AccessScopeInput) scope: AccessScopeInput,
    @Arg('ipAllowlist', () => [String], { nullable: true }) ipAllowlist: string[] | null,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.updateScope(caller, id, scope, ipAllowlist, expectedVersion);
  }

  @Mutation(() => ApiKey, { description: 'Replaces the request and token limits (null: none of that kind). A lifecycle event: versioned, in history, seen by asOf; the very next verification enforces it.' })
  updateKeyLimits(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('limits', () => KeyLimitsInput) limits: KeyLimitsInput,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.updateLimits(caller, id, limits, expectedVersion);
  }

  @Mutation(() => ApiKey, { description: 'Sets the owner-set metadata (a JSON object, at most 1 KB) valid verifications answer with; null removes it.' })
  updateKeyMetadata(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('metadata', () => JSONScalar, { nullable: true }) metadata: unknown,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.updateMetadata(caller, id, metadata, expectedVersion);
  }

  @Query(() => [UsageBucket], { description: `Use of a key of the caller's account, oldest bucket first, zeros where it was not used; at most ${USAGE_BUCKETS_MAX} buckets.` })
  apiKeyUsage(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('from', () => DateTimeScalar) from: Date,
    @Arg('to', () => DateTimeScalar) to: Date,
    @Arg('granularity', () => UsageGranularity, { nullable: true, defaultValue: DEFAULT_USAGE_GRANULARITY }) granularity: UsageGranularity | null,
  ) {
    return services.queries.usage(caller, id, from, to, granularity ?? DEFAULT_USAGE_GRANULARITY);
  }

  @Mutation(() => DeleteApiKeyPayload, { description: 'Permanent. Every later verification of the key fails with NOT_FOUND; its history stays readable.' })
  deleteApiKey(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.delete(caller, id, expectedVersion);
  }
}

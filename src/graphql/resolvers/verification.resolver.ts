import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { TokenUsageInput } from '../types/limits.type';
import { ROLE_GATEWAY } from '../../application/caller';
import type { GraphQLContext } from '../context';
import { requireRole } from '../context';
import type { VerificationResult } from '../../domain/verification';
import { DateTimeScalar } from '../scalars';
import { VerificationResultObject } from '../types/verification.type';

@Resolver(() => VerificationResultObject)
export class VerificationResolver {
  @Query(() => VerificationResultObject, { description:
      "Role gateway only. Checks a presented secret, then the key's limits (RATE_LIMITED / QUOTA_EXHAUSTED with retryAfterSeconds); a valid use is recorded as the key's last use and counted toward its request limits and usage.",
  })
  verifyApiKey(
    @Ctx() context: GraphQLContext,
    @Arg('key', () => String) key: string,
    @Arg('clientIp', () => String, { nullable: true }) clientIp: string | null,
    @Arg('model', () => String, { nullable: true }) model: string | null,
    @Arg('service', () => String, { nullable: true }) service: string | null,
  ) {
    requireRole(context, ROLE_GATEWAY);
    return context.services.verifier.verify(key, { clientIp, model, service });
  }

  @Mutation(() => Int, {
    description:
      "Role gateway only: token use after model calls; counts toward the keys' token limits and usage. Returns how many entries were recorded (entries for unknown or deleted keys are not; calls more than an hour old are refused).",
  })
  async recordTokenUsage(@Ctx() context: GraphQLContext, @Arg('entries', () => [TokenUsageInput]) entries: TokenUsageInput[]) {
    requireRole(context, ROLE_GATEWAY);
    const outcome = await context.services.tokenUsage.record(entries.map(({ at, ...entry }) => ({ ...entry, atMs: at ? at.getTime() : null })));
    return outcome.recorded;
  }

  @FieldResolver(() => DateTimeScalar, {
    nullable: true,
    description: 'Set when the presented secret was rotated out: it stops verifying at this instant. Gateways can warn their callers to switch to the new secret.',
  })
  rotationDeadline(@Root() result: VerificationResult): Date | null {
    return result.rotationDeadlineMs === null ? null : new Date(result.rotationDeadlineMs);
  }
}

import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { GRACE_PERIOD_MAX_SECONDS } from '../../domain/rules/gracePeriod';
import type { GraphQLContext } from '../context';
import { DateTimeScalar } from '../scalars';
import { ApiKey } from '../types/apiKey.type';
import { HistoryVerification, LeakReportReceipt, RotateApiKeyPayload } from '../types/keyCare.type';

const LEAK_RECEIPT = {
  received: true,
  message: 'Thank you. If this secret belongs to a live key, the key is now disabled and its owner is told.',
};

/** Beyond the console: rotation with a grace period, expiry changes, leak reports, and proof that a history was not edited. */
@Resolver()
export class KeyCareResolver {
  @Mutation(() => RotateApiKeyPayload, {
    description:
      `Gives the key a new secret (returned once). Id, name, scope, allowlist, history and last use stay. The previous secret keeps verifying for gracePeriodSeconds (0 to ${GRACE_PERIOD_MAX_SECONDS}, i.e. 30 days; 0 ends it at once), and its verifications carry rotationDeadline.`,
  })
  rotateApiKey(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('gracePeriodSeconds', () => Int) gracePeriodSeconds: number,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.rotate(caller, id, gracePeriodSeconds, expectedVersion);
  }

  @Mutation(() => ApiKey, { description: 'Sets or moves the expiry (must lie in the future), or clears it with null.' })
  updateExpiry(
    @Ctx() { caller, services }: GraphQLContext,
    @Arg('id', () => ID) id: string,
    @Arg('expiresAt', () => DateTimeScalar, { nullable: true }) expiresAt: Date | null,
    @Arg('expectedVersion', () => Int, { nullable: true }) expectedVersion: number | null,
  ) {
    return services.commands.updateExpiry(caller, id, expiresAt, expectedVersion);
  }

  @Mutation(() => LeakReportReceipt, {
    description:
      'No login needed: for secret scanners and anyone who finds a keyhub secret. A live key whose secret it is gets disabled at once (reason LEAKED); the answer is the same whether or not it was one. Text that is not a keyhub secret is BAD_USER_INPUT; too many reports from one address (an IPv6 /64) or from all together are RATE_LIMITED; a report that could not be recorded is SERVICE_UNAVAILABLE (retry).',
  })
  async reportLeakedKey(@Ctx() context: GraphQLContext, @Arg('secret', () => String) secret: string) {
    const requestId = context.requestId ?? 'leak-report';
    await context.services.leakReports.receive(context.clientAddress ?? null, requestId, () => context.services.commands.reportLeak(secret, requestId));
    return LEAK_RECEIPT;
  }

  @Query(() => HistoryVerification, {
    description: "Recomputes the hash chain over a key's stored events and names the first one that was edited. NOT_FOUND unless the key is the caller's account's.",
  })
  verifyHistory(@Ctx() { caller, services }: GraphQLContext, @Arg('id', () => ID) id: string) {
    return services.queries.verifyHistory(caller, id);
  }
}

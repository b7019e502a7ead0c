import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { ROLE_ADMIN } from '../../application/caller';
import { DEFAULT_KEY_LIMIT } from '../../domain/account/account';
import type { GraphQLContext } from '../context';
import { requireRole } from '../context';
import { Quota } from '../types/apiKey.type';

@Resolver(() => Quota)
export class AccountResolver {
  @Query(() => Quota)
  accountQuota(@Ctx() { caller, services }: GraphQLContext) {
    return services.queries.quota(caller);
  }

  @Mutation(() => Quota, { description: `Role admin only: change an account's key limit (default ${DEFAULT_KEY_LIMIT}).` })
  async setAccountKeyLimit(
    @Ctx() context: GraphQLContext,
    @Arg('accountId', () => ID) accountId: string,
    @Arg('limit', () => Int) limit: number,
  ) {
    requireRole(context, ROLE_ADMIN);
    await context.services.commands.setAccountKeyLimit(context.caller, accountId, limit);
    return context.services.queries.quotaOf(accountId);
  }
}

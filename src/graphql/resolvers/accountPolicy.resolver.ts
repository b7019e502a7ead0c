import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ROLE_ADMIN } from '../../application/caller';
import type { GraphQLContext } from '../context';
import { requireRole } from '../context';
import { AccountPolicy, AccountPolicyInput } from '../types/accountPolicy.type';
import { DateTimeScalar } from '../scalars';

/** The caller's own account, or (role admin only) the account it names. */
function targetAccount(context: GraphQLContext, accountId: string | null | undefined): string {
  const own = context.caller.accountId;
  if (accountId == null || accountId === own) return own;
  requireRole(context, ROLE_ADMIN);
  return accountId;
}

@Resolver(() => AccountPolicy)
export class AccountPolicyResolver {
  @Query(() => AccountPolicy, {
    description: "The caller's account's policy (or, for role admin, the given account's). With asOf: the policy as it stood at that instant, folded from the account's policy history (no rules before the first was set).",
  })
  accountPolicy(
    @Ctx() context: GraphQLContext,
    @Arg('accountId', () => ID, { nullable: true }) accountId?: string | null,
    @Arg('asOf', () => DateTimeScalar, { nullable: true }) asOf?: Date | null,
  ) {
    return context.services.queries.accountPolicy(targetAccount(context, accountId), asOf);
  }

  @Mutation(() => AccountPolicy, { description: "The account's own policy; role admin may set any account's with accountId." })
  setAccountPolicy(
    @Ctx() context: GraphQLContext,
    @Arg('policy', () => AccountPolicyInput) policy: AccountPolicyInput,
    @Arg('accountId', () => ID, { nullable: true }) accountId?: string | null,
  ) {
    return context.services.commands.setAccountPolicy(context.caller, targetAccount(context, accountId), { ...policy });
  }
}

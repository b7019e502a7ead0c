import { Ctx, Query, Resolver } from 'type-graphql';
import type { GraphQLContext } from '../context';
import { ScopeCatalogObject } from '../types/scopeCatalog.type';

@Resolver(() => ScopeCatalogObject)
export class ScopeCatalogResolver {
  /** Any login may read it (the transports refuse requests without one): it names what the platform offers, not what an account holds. */
  @Query(() => ScopeCatalogObject)
  scopeCatalog(@Ctx() { services }: GraphQLContext): ScopeCatalogObject {
    return { models: [...services.scopeCatalog.models], services: [...services.scopeCatalog.services] };
  }
}

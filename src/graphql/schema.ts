import type { GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import type { KeyhubPubSub } from './pubsub';
import { createKeyhubPubSub } from './pubsub';
import { AccountResolver } from './resolvers/account.resolver';
import { AccountPolicyResolver } from './resolvers/accountPolicy.resolver';
import { WebhookResolver } from './resolvers/webhook.resolver';
import { ApiKeyResolver } from './resolvers/apiKey.resolver';
import { KeyCareResolver } from './resolvers/keyCare.resolver';
import { KeyStatusChangeResolver, LiveFeedResolver } from './resolvers/liveFeed.resolver';
import { ScopeCatalogResolver } from './resolvers/scopeCatalog.resolver';
import { VerificationResolver } from './resolvers/verification.resolver';

export const RESOLVERS = [ApiKeyResolver, AccountResolver, VerificationResolver, LiveFeedResolver, KeyStatusChangeResolver, KeyCareResolver, ScopeCatalogResolver, AccountPolicyResolver, WebhookResolver] as const;

/** One schema object serves HTTP and WebSocket. `validate: false`: input rules live in the domain, not in decorators. */
export function buildKeyhubSchema(pubSub: KeyhubPubSub = createKeyhubPubSub()): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: RESOLVERS, pubSub, validate: false });
}

/**
 * The minimal Apollo peer: Apollo Server 5 (its standalone node:http server) with one resolver,
 * verifyApiKey, doing the baseline's verification (the same SHA-256, Map lookup and checks). It is
 * the floor of Apollo's request pipeline and graphql-js's execution for the same request; keyhub's
 * verifyApiKey over GraphQL is shown as a ratio to it. Run as a child process by the bench:
 * `node dist/bench/minimalApollo.js <keys.json>`.
 */
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import type { ApiKeyCreated } from '../src/domain/apiKey/events';
import { compileIpAllowlist } from '../src/domain/rules/ipAllowlist';
import { SECRET_LENGTH, hashSecret } from '../src/domain/secret';
import type { VerifiableKey } from '../src/domain/verification';
import { checkAccess } from '../src/domain/verification';

const file = process.argv[2];
if (!file) throw new Error('usage: minimalApollo.js <keys.json>');
const entries = JSON.parse(readFileSync(file, 'utf8')) as Array<[string, string, string, ApiKeyCreated['data']]>;
const keys = new Map<string, VerifiableKey>();
for (const [hash, keyId, accountId, data] of entries) {
  keys.set(hash, { keyId, accountId, status: 'ENABLED', expiresAtMs: data.expiresAt === null ? null : Date.parse(data.expiresAt), scope: data.scope, allowsIp: compileIpAllowlist(data.ipAllowlist) });
}

const typeDefs = `
  type Verdict { valid: Boolean! reason: String keyId: ID accountId: ID }
  type Query { verifyApiKey(key: String!, clientIp: String, model: String, service: String): Verdict! }
`;
type Args = { key: string; clientIp: string | null; model: string | null; service: string | null };
const resolvers = {
  Query: {
    verifyApiKey: (_: unknown, { key: secret, clientIp, model, service }: Args) => {
      const key = secret.length === SECRET_LENGTH ? keys.get(hashSecret(secret)) : undefined;
      if (!key) return { valid: false, reason: 'NOT_FOUND', keyId: null, accountId: null };
      const result = checkAccess(key, { clientIp: clientIp ?? null, model: model ?? null, service: service ?? null, nowMs: Date.now() });
      return { valid: result.valid, reason: result.reason, keyId: key.keyId, accountId: key.accountId };
    },
  },
};

async function main(): Promise<void> {
  const server = new ApolloServer({ typeDefs, resolvers });
  const { url } = await startStandaloneServer(server, { listen: { port: 0, host: '127.0.0.1' } });
  console.log(`minimal apollo listening on ${new URL(url).port} with ${keys.size} keys`);
}

void main();

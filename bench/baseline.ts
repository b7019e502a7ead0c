/**
 * The baseline: a bare node:http server doing the same verification as keyhub with the least
 * possible code: the same SHA-256, a lookup in an in-memory Map of the same keys, the same pure
 * checks (status, expiry, IP allowlist, scope). No framework, no event log, no read model.
 * It answers two requests: GET /auth (the bare verifier, the peer of keyhub's forward auth) and
 * POST /graphql (the bare JSON endpoint, the peer of verifyApiKey over GraphQL: it reads and parses
 * the same GraphQL request body, takes the variables, and answers the same JSON, with no GraphQL).
 * Run as a child process by the bench: `node dist/bench/baseline.js <keys.json>`.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { ApiKeyCreated } from '../src/domain/apiKey/events';
import { compileIpAllowlist } from '../src/domain/rules/ipAllowlist';
import { SECRET_LENGTH, hashSecret } from '../src/domain/secret';
import type { VerifiableKey } from '../src/domain/verification';
import { checkAccess } from '../src/domain/verification';

const file = process.argv[2];
if (!file) throw new Error('usage: baseline.js <keys.json>');
const entries = JSON.parse(readFileSync(file, 'utf8')) as Array<[string, string, string, ApiKeyCreated['data']]>;
const keys = new Map<string, VerifiableKey>();
for (const [hash, keyId, accountId, data] of entries) {
  keys.set(hash, {
    keyId,
    accountId,
    status: 'ENABLED',
    expiresAtMs: data.expiresAt === null ? null : Date.parse(data.expiresAt),
    scope: data.scope,
    allowsIp: compileIpAllowlist(data.ipAllowlist),
  });
}

const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value) ?? null;

/** The bare JSON endpoint: the body parsed, the same checks, `{"data":{"verifyApiKey":{...}}}` as keyhub answers it. */
function answerJson(req: IncomingMessage, res: ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let variables: Record<string, string | null>;
    try {
      variables = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { variables: Record<string, string | null> }).variables;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const secret = variables['key'] ?? '';
    const key = secret.length === SECRET_LENGTH ? keys.get(hashSecret(secret)) : undefined;
    const result = key
      ? checkAccess(key, { clientIp: variables['clientIp'] ?? null, model: variables['model'] ?? null, service: variables['service'] ?? null, nowMs: Date.now() })
      : { valid: false, reason: 'NOT_FOUND' };
    const verdict = { valid: result.valid, reason: result.reason, keyId: key?.keyId ?? null, accountId: key?.accountId ?? null };
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ data: { verifyApiKey: verdict } }));
  });
}

createServer((req, res) => {
  if (req.method === 'POST') return answerJson(req, res);
  const secret = (req.headers.authorization ?? '').slice(7);
  const key = secret.length === SECRET_LENGTH ? keys.get(hashSecret(secret)) : undefined;
  if (!key) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"valid":false,"reason":"NOT_FOUND"}');
    return;
  }
  const result = checkAccess(key, { clientIp: header(req.headers['x-forwarded-for']), model: header(req.headers['x-model']), service: header(req.headers['x-service']), nowMs: Date.now() });
  res
    .writeHead(result.valid ? 200 : 403, { 'content-type': 'application/json', 'x-key-id': key.keyId, 'x-account-id': key.accountId })
    .end(JSON.stringify({ valid: result.valid, reason: result.reason, keyId: key.keyId, accountId: key.accountId }));
}).listen(0, '127.0.0.1', function (this: import('node:http').Server) {
  const address = this.address();
  console.log(`baseline listening on ${typeof address === 'object' && address ? address.port : 0} with ${keys.size} keys`);
});

import { KnownOperations } from '../../src/graphql/knownOperations';
import type { Client } from '../support/apiHelpers';
import { createKey, newGateway, newOwner } from '../support/apiHelpers';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import { ROTATE } from '../support/keyCareOperations';
import { DELETE, SET_STATUS } from '../support/operations';

/** Every field of the verdict, so that any difference in any field shows. */
const ALL_FIELDS = 'valid reason keyId accountId metadata retryAfterSeconds rotationDeadline scope { mode models services } __typename';
const VERIFY_ALL = `query Verify($key: String!, $clientIp: String, $model: String, $service: String) {
  verifyApiKey(key: $key, clientIp: $clientIp, model: $model, service: $service) { ${ALL_FIELDS} } }`;
const RECORD = 'mutation($entries: [TokenUsageInput!]!) { recordTokenUsage(entries: $entries) }';

interface Answer {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  body: string;
}

/**
 * The known-operation path (verifyApiKey compiled with graphql-jit, outside Apollo's pipeline) must
 * answer exactly as Apollo does. Each request is sent twice: as a gateway sends it (the path answers)
 * and with `extensions: {}` in the body (the path declines it; Apollo answers). A spy on the path
 * proves which one answered. Verifications have effects (rate and quota windows), so each case runs
 * on two keys made alike, one per path, and the second key's id is read as the first's.
 */
describe('verifyApiKey through the known-operation path answers exactly as Apollo does', () => {
  let keyhub: KeyhubSpecification;
  let owner: Client;
  let gateway: Client;
  const executed = jest.spyOn(KnownOperations.prototype, 'execute');

  beforeAll(async () => {
    keyhub = await startApiSpecification();
    owner = await newOwner(keyhub.url, 'owner');
    gateway = await newGateway(keyhub.url);
  });
  afterAll(async () => {
    executed.mockRestore();
    await keyhub.stop();
  });

  const post = async (body: Record<string, unknown>, token: string | null, headers: Record<string, string> = {}): Promise<Answer> => {
    const response = await fetch(keyhub.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: JSON.stringify(body),
    });
    return { status: response.status, contentType: response.headers.get('content-type'), retryAfter: response.headers.get('retry-after'), body: await response.text() };
  };

  /** The request through both paths; asserts which path answered each, returns both answers. */
  const bothPaths = async (body: Record<string, unknown>, token: string | null = gateway.token, headers: Record<string, string> = {}, fast = true) => {
    const before = executed.mock.calls.length;
    const known = await post(body, token, headers);
    expect(executed.mock.calls.length - before).toBe(fast ? 1 : 0);
    const apollo = await post({ ...body, extensions: {} }, token, headers);
    expect(executed.mock.calls.length - before).toBe(fast ? 1 : 0);
    return { known, apollo };
  };

  /** Two keys made alike: one is verified through the path, the other through Apollo. */
  const twinKeys = async (input: Record<string, unknown> = {}) => [await createKey(owner, input), await createKey(owner, input)] as const;
  const sameAnswer = (known: Answer, apollo: Answer, knownKeyId?: string, apolloKeyId?: string) => {
    expect(knownKeyId && apolloKeyId ? { ...apollo, body: apollo.body.replaceAll(apolloKeyId, knownKeyId) } : apollo).toEqual(known);
  };
  const verifyTwins = async (twins: readonly [{ secret: string; apiKey: { id: string } }, { secret: string; apiKey: { id: string } }], variables: Record<string, unknown> = {}, query = VERIFY_ALL) => {
    const [first, second] = twins;
    const before = executed.mock.calls.length;
    const known = await post({ query, variables: { key: first.secret, ...variables } }, gateway.token);
    const apollo = await post({ query, variables: { key: second.secret, ...variables }, extensions: {} }, gateway.token);
    expect(executed.mock.calls.length - before).toBe(1);
    sameAnswer(known, apollo, first.apiKey.id, second.apiKey.id);
    return JSON.parse(known.body) as { data: { verifyApiKey: Record<string, unknown> } };
  };

  it('answers a valid key alike, with every field, scope and metadata', async () => {
    const twins = await twinKeys({ scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: ['chat'] }, metadata: { tier: 'gold' } });
    const answer = await verifyTwins(twins, { model: 'qwen-max', service: 'chat' });
    expect(answer.data.verifyApiKey).toMatchObject({ valid: true, reason: null, keyId: twins[0].apiKey.id, metadata: { tier: 'gold' }, scope: { mode: 'RESTRICTED' } });
  });

  it('answers every verification reason alike', async () => {
    const reasons: string[] = [];
    const record = (answer: { data: { verifyApiKey: Record<string, unknown> } }) => reasons.push(answer.data.verifyApiKey['reason'] as string);

    const malformed = await bothPaths({ query: VERIFY_ALL, variables: { key: 'not-a-key' } });
    sameAnswer(malformed.known, malformed.apollo);
    record(JSON.parse(malformed.known.body));

    const deleted = await twinKeys();
    for (const twin of deleted) await owner.call(DELETE, { id: twin.apiKey.id });
    record(await verifyTwins(deleted));

    const disabled = await twinKeys();
    for (const twin of disabled) await owner.call(SET_STATUS, { id: twin.apiKey.id, status: 'DISABLED' });
    record(await verifyTwins(disabled));

    const expiring = await twinKeys({ expiresAt: new Date(keyhub.clock.now().getTime() + 1_000).toISOString() });
    keyhub.clock.advance(2_000);
    record(await verifyTwins(expiring));

    record(await verifyTwins(await twinKeys({ ipAllowlist: ['10.0.0.0/8'] }), { clientIp: '192.168.1.1' }));
    record(await verifyTwins(await twinKeys({ scope: { mode: 'RESTRICTED', models: ['qwen-max'] } }), { model: 'gpt-4o' }));

    const limited = await twinKeys({ limits: { requestsPerMinute: 1 } });
    await verifyTwins(limited);
    record(await verifyTwins(limited));

    const quota = await twinKeys({ limits: { tokensPerDay: 10 } });
    await gateway.call(RECORD, { entries: quota.map((twin) => ({ keyId: twin.apiKey.id, promptTokens: 10, completionTokens: 5 })) });
    record(await verifyTwins(quota));

    expect(reasons.sort()).toEqual(['DISABLED', 'EXPIRED', 'IP_NOT_ALLOWED', 'MALFORMED', 'NOT_FOUND', 'QUOTA_EXHAUSTED', 'RATE_LIMITED', 'SCOPE_DENIED']);
  });

  it('answers a rotated-out secret alike (rotationDeadline)', async () => {
    const twins = await twinKeys();
    for (const twin of twins) await owner.call(ROTATE, { id: twin.apiKey.id, grace: 3600 });
    const answer = await verifyTwins(twins);
    expect(answer.data.verifyApiKey['rotationDeadline']).toEqual(expect.any(String));
  });

  it('answers field selections, aliases, literal arguments and operation names alike', async () => {
    const [first, second] = await twinKeys();
    const aliased = (key: string) => `query Two($k: String!) {
      a: verifyApiKey(key: $k, clientIp: "10.1.2.3") { valid keyId }
      b: verifyApiKey(key: "${key}") { reason __typename ok: valid }
      verifyApiKey(key: $k) { accountId } }`;
    const before = executed.mock.calls.length;
    const known = await post({ query: aliased(first.secret), variables: { k: first.secret }, operationName: 'Two' }, gateway.token);
    const apollo = await post({ query: aliased(second.secret), variables: { k: second.secret }, operationName: 'Two', extensions: {} }, gateway.token);
    expect(executed.mock.calls.length - before).toBe(1);
    sameAnswer(known, { ...apollo, body: apollo.body.replaceAll(second.secret, first.secret) }, first.apiKey.id, second.apiKey.id);
    expect(JSON.parse(known.body).data).toMatchObject({ a: { valid: true }, b: { ok: true, __typename: 'VerificationResult' }, verifyApiKey: { accountId: first.apiKey.accountId } });
  });

  it('answers with Accept: application/json or */* alike, and leaves other Accept headers to Apollo', async () => {
    const body = { query: VERIFY_ALL, variables: { key: 'not-a-key' } };
    for (const accept of ['application/json', '*/*']) {
      const { known, apollo } = await bothPaths(body, gateway.token, { accept });
      sameAnswer(known, apollo);
    }
    const other = await bothPaths(body, gateway.token, { accept: 'application/graphql-response+json' }, false);
    sameAnswer(other.known, other.apollo);
    expect(other.known.contentType).toContain('application/graphql-response+json');
  });

  it('answers errors alike: a caller without the gateway role, no token, variables that do not coerce', async () => {
    const body = { query: VERIFY_ALL, variables: { key: 'not-a-key' } };
    const forbidden = await bothPaths(body, owner.token);
    sameAnswer(forbidden.known, forbidden.apollo);
    expect(forbidden.known.status).toBe(200); // a resolver's error keeps 200, as Apollo answers it
    expect(JSON.parse(forbidden.known.body)).toMatchObject({ data: null, errors: [{ extensions: { code: 'FORBIDDEN' }, path: ['verifyApiKey'] }] });

    // Refused before anything runs: Apollo answers both, exactly as before.
    for (const [variables, token] of [
      [{ key: 'not-a-key' }, null],
      [{ key: 5 }, gateway.token],
      [{}, gateway.token],
      [{ key: 'x', clientIp: ['a'] }, gateway.token],
    ] as const) {
      const refused = await bothPaths({ query: VERIFY_ALL, variables }, token, {}, false);
      sameAnswer(refused.known, refused.apollo);
      expect(refused.known.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('leaves anything but a verifyApiKey-only query to Apollo: other fields, fragments, directives, mutations', async () => {
    for (const query of [
      '{ verifyApiKey(key: "x") { valid } quota { used } }',
      'query { ...V } fragment V on Query { verifyApiKey(key: "x") { valid } }',
      'query($s: Boolean!) { verifyApiKey(key: "x") @include(if: $s) { valid } }',
      '{ verifyApiKey(key: "x") { nope } }',
    ]) {
      const { known, apollo } = await bothPaths({ query, variables: { s: true } }, gateway.token, {}, false);
      sameAnswer(known, apollo);
    }
  });
});

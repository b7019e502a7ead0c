import { randomUUID } from 'node:crypto';
import { createKey, newGateway, newOwner } from '../support/apiHelpers';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { expectNoNewEvents, expectResponse, startApiSpecification } from '../support/apiSpecification';
import { clientFor } from '../support/graphqlClient';
import { CREATE, DELETE, SET_STATUS, VERIFY } from '../support/operations';

type Client = Awaited<ReturnType<typeof clientFor>>;
const GATEWAY_TOKEN = 'a-shared-gateway-token-for-tests';

/** What a gateway sees of one forward-auth call. */
const forwardAuth = (keyhub: KeyhubSpecification, headers: Record<string, string>, path = '/auth', method = 'GET') => keyhub.forwardAuth(headers, path, method)();

describe('forward auth (GET /auth) for gateways', () => {
  let keyhub: KeyhubSpecification;
  let owner: Client;
  let gateway: Client;
  const create = (input: Record<string, unknown> = {}) => createKey(owner, input, { name: 'gateway key' });
  const bearer = (secret: string, extra: Record<string, string> = {}) => ({ authorization: `Bearer ${secret}`, ...extra });

  beforeAll(async () => {
    // The test runner is the gateway here, on loopback: its X-Forwarded-For is believed.
    keyhub = await startApiSpecification({ env: { TRUST_PROXY: 'loopback' } });
    owner = await newOwner(keyhub.url, 'owner');
    gateway = await newGateway(keyhub.url);
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  it('answers 200 with the key and account for a valid key, like verifyApiKey', async () => {
    const { secret, apiKey } = await create();
    const answer = await forwardAuth(keyhub, bearer(secret));
    expect(answer).toMatchObject({ status: 200, keyId: apiKey.id, accountId: apiKey.accountId, failure: null, body: { valid: true } });
    expect((await gateway.call(VERIFY, { key: secret })).verifyApiKey).toMatchObject({ valid: true, keyId: apiKey.id });
  });

  it('answers for an account named in any script, percent-encoded in the header, and stays up', async () => {
    // A raw non-Latin-1 header value used to throw ERR_INVALID_CHAR outside any handler and end the process.
    const tenant = await clientFor(keyhub.url, { sub: '用户-7', account: `租户-42-${randomUUID()}` });
    const { secret, apiKey } = (await tenant.call(CREATE, { input: { name: '网关密钥', acceptTerms: true } })).createApiKey as { secret: string; apiKey: { id: string; accountId: string } };
    for (let i = 0; i < 2; i += 1) {
      const answer = await forwardAuth(keyhub, bearer(secret));
      expect(answer).toMatchObject({ status: 200, keyId: apiKey.id, body: { valid: true, accountId: apiKey.accountId } });
      expect(decodeURIComponent(answer.accountId ?? '')).toBe(apiKey.accountId);
    }
    expect((await fetch(`${keyhub.baseUrl}/healthz`)).status).toBe(200);
  });

  it('accepts any method and path under /auth (Envoy forwards the original request line)', async () => {
    const { secret, apiKey } = await create();
    expect(await forwardAuth(keyhub, bearer(secret), '/auth/v1/chat/completions', 'POST')).toMatchObject({ status: 200, keyId: apiKey.id });
  });

  it('leaves other paths to the rest of the server', async () => {
    const { secret } = await create();
    const elsewhere = await fetch(`${keyhub.baseUrl}/authorize`, { headers: { authorization: `Bearer ${secret}` } });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.headers.get('x-auth-failure')).toBeNull();
    expect((await fetch(`${keyhub.baseUrl}/healthz`)).status).toBe(200);
  });

  it('answers 401 MISSING without a bearer secret', async () => {
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer ' }] as Array<Record<string, string>>) {
      const answer = await forwardAuth(keyhub, headers);
      expect(answer).toMatchObject({ status: 401, failure: 'MISSING', keyId: null, body: { valid: false, reason: 'MISSING' } });
    }
  });

  it('answers 401 MALFORMED for a mistyped key and NOT_FOUND for an unknown or deleted one', async () => {
    const { secret, apiKey } = await create();
    const mistyped = `${secret.slice(0, 10)}${secret[10] === 'a' ? 'b' : 'a'}${secret.slice(11)}`;
    expect(await forwardAuth(keyhub, bearer(mistyped))).toMatchObject({ status: 401, failure: 'MALFORMED', keyId: null });

    const other = await create();
    await owner.call(DELETE, { id: other.apiKey.id });
    expect(await forwardAuth(keyhub, bearer(other.secret))).toMatchObject({ status: 401, failure: 'NOT_FOUND', keyId: null, body: { reason: 'NOT_FOUND' } });
    expect(await forwardAuth(keyhub, bearer(secret))).toMatchObject({ status: 200, keyId: apiKey.id });
  });

  it('answers 403 DISABLED at once after the key is disabled, and 200 again once enabled', async () => {
    const { secret, apiKey } = await create();
    expect((await forwardAuth(keyhub, bearer(secret))).status).toBe(200);
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    expect(await forwardAuth(keyhub, bearer(secret))).toMatchObject({ status: 403, failure: 'DISABLED', body: { valid: false, reason: 'DISABLED' } });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    expect((await forwardAuth(keyhub, bearer(secret))).status).toBe(200);
  });

  it('answers 403 EXPIRED from the instant of the expiry on, and records no use', async () => {
    const { secret } = await create({ expiresAt: new Date(keyhub.clock.now().getTime() + 1500).toISOString() });
    expect((await forwardAuth(keyhub, bearer(secret))).status).toBe(200);
    keyhub.clock.advance(1499);
    expect((await forwardAuth(keyhub, bearer(secret))).status).toBe(200);
    await keyhub.flushUses();
    keyhub.clock.advance(1);
    await keyhub
      .given()
      .when(keyhub.forwardAuth(bearer(secret)))
      .then(expectResponse({ status: 403, failure: 'EXPIRED', body: { valid: false, reason: 'EXPIRED' } }), expectNoNewEvents());
  });

  it('checks the IP allowlist against the address the trusted gateway appended to X-Forwarded-For', async () => {
    const { secret } = await create({ ipAllowlist: ['10.0.0.0/8'] });
    expect(await forwardAuth(keyhub, bearer(secret))).toMatchObject({ status: 403, failure: 'IP_NOT_ALLOWED' });
    expect(await forwardAuth(keyhub, bearer(secret, { 'x-forwarded-for': '10.1.2.3' }))).toMatchObject({ status: 200 });
    // A client cannot forge its way in by prepending an allowed address.
    expect(await forwardAuth(keyhub, bearer(secret, { 'x-forwarded-for': '10.1.2.3, 203.0.113.9' }))).toMatchObject({ status: 403, failure: 'IP_NOT_ALLOWED' });
  });

  it('answers 403 SCOPE_DENIED for a model or service outside the scope', async () => {
    const { secret } = await create({ scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: ['chat'] } });
    expect(await forwardAuth(keyhub, bearer(secret, { 'x-model': 'qwen-max', 'x-service': 'chat' }))).toMatchObject({ status: 200 });
    expect(await forwardAuth(keyhub, bearer(secret, { 'x-model': 'gpt-4o', 'x-service': 'chat' }))).toMatchObject({ status: 403, failure: 'SCOPE_DENIED' });
  });
});

describe('forward auth with FORWARD_AUTH_TOKEN set', () => {
  let keyhub: KeyhubSpecification;

  beforeAll(async () => {
    keyhub = await startApiSpecification({ env: { FORWARD_AUTH_TOKEN: GATEWAY_TOKEN } });
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  it('refuses callers without the gateway token before looking at the key', async () => {
    const owner = await newOwner(keyhub.url, 'owner');
    const { secret } = (await owner.call(CREATE, { input: { name: 'gateway key', acceptTerms: true } })).createApiKey;
    expect(await forwardAuth(keyhub, { authorization: `Bearer ${secret}` })).toMatchObject({ status: 401, failure: 'GATEWAY_UNAUTHENTICATED', keyId: null });
    expect(await forwardAuth(keyhub, { authorization: `Bearer ${secret}`, 'x-gateway-token': 'wrong-token-of-some-length' })).toMatchObject({
      status: 401,
      failure: 'GATEWAY_UNAUTHENTICATED',
    });
    expect(await forwardAuth(keyhub, { authorization: `Bearer ${secret}`, 'x-gateway-token': GATEWAY_TOKEN })).toMatchObject({ status: 200 });
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy (TRUST_PROXY unset): the allowlist sees the peer', async () => {
    const owner = await newOwner(keyhub.url, 'owner');
    const call = async (ipAllowlist: string[], forwardedFor: string) => {
      const { secret } = (await owner.call(CREATE, { input: { name: 'gateway key', acceptTerms: true, ipAllowlist } })).createApiKey;
      return forwardAuth(keyhub, { authorization: `Bearer ${secret}`, 'x-gateway-token': GATEWAY_TOKEN, 'x-forwarded-for': forwardedFor });
    };
    // A forged allowed address gets nowhere, whichever end of the list it is put at.
    expect(await call(['10.0.0.0/8'], '10.1.2.3')).toMatchObject({ status: 403, failure: 'IP_NOT_ALLOWED' });
    expect(await call(['10.0.0.0/8'], '203.0.113.9, 10.1.2.3')).toMatchObject({ status: 403, failure: 'IP_NOT_ALLOWED' });
    // The peer's own address is what is checked.
    expect(await call(['127.0.0.1'], '10.1.2.3')).toMatchObject({ status: 200 });
  });
});

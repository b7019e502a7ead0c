import type { Client } from 'graphql-ws';
import { AccountRequestLimiter } from '../../src/application/accountRequestLimiter';
import { DomainError } from '../../src/domain/errors';
import { gql, tokenFor, wsClient } from '../support/graphqlClient';
import { QUOTA, VERIFY } from '../support/operations';
import { startInProcessKeyhub } from './inProcessKeyhub';

describe('AccountRequestLimiter', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-12-01T00:00:00.000Z') }));
  afterEach(() => jest.useRealTimers());

  const refusal = async (admitted: Promise<void>) => admitted.then(() => null, (error: unknown) => error);

  it('admits an account\'s allowance per second, refuses the next with RATE_LIMITED and a retry hint, and admits again a second later', async () => {
    const limiter = new AccountRequestLimiter(3);
    for (let i = 0; i < 3; i += 1) expect(await refusal(limiter.admit('acct-a'))).toBeNull();
    const refused = await refusal(limiter.admit('acct-a'));
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', retry: { afterSeconds: 1 } });
    expect(await refusal(limiter.admit('acct-b'))).toBeNull(); // another account is not affected

    jest.advanceTimersByTime(999);
    expect(await refusal(limiter.admit('acct-a'))).toMatchObject({ code: 'RATE_LIMITED' });
    jest.advanceTimersByTime(1);
    expect(await refusal(limiter.admit('acct-a'))).toBeNull();
  });
});

describe('Per-account request limit on the GraphQL API', () => {
  let keyhub: Awaited<ReturnType<typeof startInProcessKeyhub>>;
  let noisy: string;
  let quiet: string;
  let gateway: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    keyhub = await startInProcessKeyhub({ ACCOUNT_REQUESTS_PER_SECOND: '3' });
    noisy = await tokenFor({ sub: 'noisy', account: 'acct-noisy' });
    quiet = await tokenFor({ sub: 'quiet', account: 'acct-quiet' });
    gateway = await tokenFor({ sub: 'gw', account: 'acct-noisy', roles: ['gateway'] });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await keyhub.stop();
  });

  /** Sends until the account is refused (its allowance is 3 a second), and returns the refusal. */
  async function exhaust(send: () => Promise<{ status?: number; errors?: Array<{ extensions?: Record<string, unknown> }> }>) {
    for (let i = 0; i < 50; i += 1) {
      const answer = await send();
      if (answer.errors?.[0]?.extensions?.['code'] === 'RATE_LIMITED') return answer;
      expect(answer.errors).toBeUndefined();
    }
    throw new Error('never refused');
  }

  it('answers an account over its allowance RATE_LIMITED (429, Retry-After, retryAfterSeconds) over HTTP; other accounts and verifyApiKey go on', async () => {
    let retryAfter: string | null = null;
    const refused = await exhaust(async () => {
      const response = await fetch(keyhub.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${noisy}` }, body: JSON.stringify({ query: QUOTA }) });
      retryAfter = response.headers.get('retry-after');
      return { status: response.status, ...((await response.json()) as object) };
    });
    expect(refused.status).toBe(429);
    expect(retryAfter).toBe('1');
    expect(refused.errors?.[0]).toMatchObject({ message: expect.stringContaining('more than 3 operations in a second'), extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } });
    expect((await gql(keyhub.url, quiet, QUOTA)).data?.accountQuota).toBeDefined();
    for (let i = 0; i < 10; i += 1) expect((await gql(keyhub.url, gateway, VERIFY, { key: 'sk-not-a-key' })).data?.verifyApiKey).toMatchObject({ valid: false });
  });

  it('counts operations refused before they run, and refuses an account over its allowance before parsing its request', async () => {
    const flooder = await tokenFor({ sub: 'flooder', account: 'acct-flooder' });
    const codes: string[] = [];
    // Invalid operations cost parsing and validation: before, they were never counted, so a flood of them was never limited.
    for (let i = 0; i < 50 && codes.at(-1) !== 'RATE_LIMITED'; i += 1) codes.push(String((await gql(keyhub.url, flooder, '{ nope }')).errors?.[0]?.extensions?.['code']));
    expect(codes.at(-1)).toBe('RATE_LIMITED');
    expect(codes.slice(0, -1).every((code) => code === 'GRAPHQL_VALIDATION_FAILED')).toBe(true);
    // Spent: the next request is refused without being parsed (unparsable text gets RATE_LIMITED, not GRAPHQL_PARSE_FAILED).
    expect((await gql(keyhub.url, flooder, '{{{ not graphql')).errors?.[0]?.extensions?.['code']).toBe('RATE_LIMITED');
    // A gateway token of that account still verifies keys.
    const sameAccountGateway = await tokenFor({ sub: 'gw-2', account: 'acct-flooder', roles: ['gateway'] });
    expect((await gql(keyhub.url, sameAccountGateway, VERIFY, { key: 'sk-not-a-key' })).data?.verifyApiKey).toMatchObject({ valid: false });
  });

  it('counts operations over graphql-ws too', async () => {
    const client = wsClient(keyhub.wsUrl, noisy);
    clients.push(client);
    const overWs = () =>
      new Promise<{ errors?: Array<{ extensions?: Record<string, unknown> }> }>((resolve) => {
        client.subscribe({ query: QUOTA }, { next: (result) => resolve(result as never), error: (errors) => resolve({ errors: errors as never }), complete: () => undefined });
      });
    const refused = await exhaust(overWs);
    expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 1 } });
  });
});

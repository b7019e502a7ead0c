import { randomBytes } from 'node:crypto';
import type { Client as WsClient } from 'graphql-ws';
import type { Client } from '../support/apiHelpers';
import { createKey, newGateway, newOwner as ownerOf, verifyKey } from '../support/apiHelpers';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import type { GraphQLResponse } from '../support/graphqlClient';
import { connected, errorOf, gql, subscribe, wsClient } from '../support/graphqlClient';
import { DELETE, GET, HISTORY, QUOTA, SET_STATUS } from '../support/operations';
import { API_KEY_EVENTS_AFTER, KEY_STATUS_CHANGED_AFTER, REPORT_LEAK, ROTATE, VERIFY_WITH_DEADLINE } from '../support/keyCareOperations';
import { secretFromRandomBytes } from '../../src/domain/secret';

const LIMIT = 4;

/** A report as a secret scanner sends it: no Authorization header, from a given address (behind the trusted local proxy). */
async function report(url: string, secret: string, from: string): Promise<GraphQLResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify({ query: REPORT_LEAK, variables: { secret } }),
  });
  return { status: response.status, ...((await response.json()) as object) };
}

describe('Leaked-key reports, end to end', () => {
  let keyhub: KeyhubSpecification;
  let gateway: Client;
  const sockets: WsClient[] = [];
  let addresses = 0;
  const freshAddress = () => `203.0.113.${(addresses += 1)}`;
  const newOwner = () => ownerOf(keyhub.url);
  const create = (owner: Client) => createKey(owner, {}, { name: 'leaky' });
  const verify = (key: string) => verifyKey(gateway, key, {}, VERIFY_WITH_DEADLINE);

  beforeAll(async () => {
    keyhub = await startApiSpecification({ env: { LEAK_REPORTS_PER_MINUTE: String(LIMIT), TRUST_PROXY: 'loopback' } });
    gateway = await newGateway(keyhub.url);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.dispose()));
    await keyhub.stop();
  });

  it('disables a live key at once with reason LEAKED, without a login, and the owner sees it in history and on both live feeds', async () => {
    const owner = await newOwner();
    const { apiKey, secret } = await create(owner);
    const socket = wsClient(keyhub.wsUrl, owner.token);
    sockets.push(socket);
    const listening = [keyhub.listening(owner.identity.account), keyhub.listening(owner.identity.account)];
    const events = subscribe(socket, API_KEY_EVENTS_AFTER);
    const statuses = subscribe(socket, KEY_STATUS_CHANGED_AFTER, { id: apiKey.id });
    await connected(socket);
    await Promise.all(listening);

    const response = await report(keyhub.url, secret, freshAddress());
    expect(response.status).toBe(200);
    expect(response.data.reportLeakedKey.received).toBe(true);
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'DISABLED', keyId: apiKey.id });

    const history = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory;
    expect(history.slice(1)).toMatchObject([
      { type: 'ApiKeyLeakReported', version: 2, actor: 'anonymous:leak-report', data: { reportedSecret: 'CURRENT', maskedKey: apiKey.maskedKey } },
      { type: 'ApiKeyStatusChanged', version: 3, data: { status: 'DISABLED', reason: 'LEAKED' } },
    ]);
    expect(JSON.stringify(history)).not.toContain(secret);
    expect((await events.next()).apiKeyEvents).toMatchObject({ keyId: apiKey.id, type: 'ApiKeyLeakReported' });
    expect((await events.next()).apiKeyEvents).toMatchObject({ keyId: apiKey.id, type: 'ApiKeyStatusChanged', data: { reason: 'LEAKED' } });
    expect((await statuses.next()).keyStatusChanged).toMatchObject({ keyId: apiKey.id, status: 'DISABLED', reason: 'LEAKED', version: 3 });

    // Re-enabling is the owner's call; the key then works again.
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    expect(await verify(secret)).toMatchObject({ valid: true });
    expect((await statuses.next()).keyStatusChanged).toMatchObject({ status: 'ENABLED', reason: 'OWNER' });
  });

  it('answers the same whether the secret belongs to a live key, a deleted key, no key, or an already disabled one', async () => {
    const owner = await newOwner();
    const live = await create(owner);
    const gone = await create(owner);
    await owner.call(DELETE, { id: gone.apiKey.id });
    const unknown = secretFromRandomBytes(randomBytes(32)); // well-formed, never issued
    const from = freshAddress();
    const answers: unknown[] = [];
    for (const secret of [live.secret, gone.secret, unknown, live.secret]) {
      const { status, data, errors } = await report(keyhub.url, secret, from);
      answers.push({ status, data, errors });
    }
    expect(answers.every((answer) => JSON.stringify(answer) === JSON.stringify(answers[0]))).toBe(true);
    expect(answers[0]).toEqual({ status: 200, data: { reportLeakedKey: { received: true, message: expect.any(String) } }, errors: undefined });
    // The second report of the same key changed nothing more.
    expect((await owner.call(GET, { id: live.apiKey.id })).apiKey).toMatchObject({ status: 'DISABLED', version: 3 });
  });

  it('disables the key and ends the grace period when the rotated-out secret is reported', async () => {
    const owner = await newOwner();
    const { apiKey, secret: old } = await create(owner);
    const rotated = (await owner.call(ROTATE, { id: apiKey.id, grace: 3600 })).rotateApiKey;
    await report(keyhub.url, old, freshAddress());
    expect(await verify(rotated.secret)).toMatchObject({ valid: false, reason: 'DISABLED' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'ENABLED' });
    expect(await verify(rotated.secret)).toMatchObject({ valid: true });
    expect(await verify(old)).toMatchObject({ valid: false, reason: 'NOT_FOUND' });
    const types = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory.map((event: { type: string; data: { reportedSecret?: string } }) => event.data.reportedSecret ?? event.type);
    expect(types).toEqual(['ApiKeyCreated', 'ApiKeyRotated', 'PREVIOUS', 'ApiKeyStatusChanged', 'ApiKeyStatusChanged']);
  });

  it('rejects text that is not a keyhub secret by its checksum, as BAD_USER_INPUT on secret', async () => {
    const owner = await newOwner();
    const { secret } = await create(owner);
    const from = freshAddress();
    const mistyped = `${secret.slice(0, 10)}${secret[10] === 'a' ? 'b' : 'a'}${secret.slice(11)}`;
    for (const text of ['hello', mistyped]) {
      const response = await report(keyhub.url, text, from);
      expect(response.status).toBe(200);
      expect(errorOf(response)).toEqual({ code: 'BAD_USER_INPUT', field: 'secret' });
    }
    expect(await verify(secret)).toMatchObject({ valid: true });
  });

  it(`rate-limits reports per client address (${LIMIT} a minute), other addresses unaffected`, async () => {
    const owner = await newOwner();
    const { secret } = await create(owner);
    const busy = freshAddress();
    for (let i = 0; i < LIMIT; i += 1) expect((await report(keyhub.url, secret, busy)).data?.reportLeakedKey.received).toBe(true);
    const limited = await report(keyhub.url, secret, busy);
    expect(errorOf(limited).code).toBe('RATE_LIMITED');
    expect(limited.errors?.[0]?.message).toMatch(/retry in \d+ s/);
    expect((await report(keyhub.url, secret, freshAddress())).data?.reportLeakedKey.received).toBe(true);
  });

  it(`counts an IPv6 client by its /64: addresses rotated within it share the ${LIMIT} a minute`, async () => {
    const owner = await newOwner();
    const { secret } = await create(owner);
    const answers = [];
    for (let i = 1; i <= LIMIT + 1; i += 1) answers.push(await report(keyhub.url, secret, `2001:db8:77:1::${i.toString(16)}`));
    expect(answers.slice(0, LIMIT).every((answer) => answer.data?.reportLeakedKey.received)).toBe(true);
    expect(errorOf(answers[LIMIT] as GraphQLResponse).code).toBe('RATE_LIMITED');
    expect((await report(keyhub.url, secret, '2001:db8:77:2::1')).data?.reportLeakedKey.received).toBe(true);
  });

  it('works over graphql-ws too, on an authenticated connection', async () => {
    const owner = await newOwner();
    const { apiKey, secret } = await create(owner);
    const socket = wsClient(keyhub.wsUrl, owner.token);
    sockets.push(socket);
    const result = await new Promise<{ data?: { reportLeakedKey: { received: boolean } } }>((resolve, reject) => {
      let value: unknown;
      socket.subscribe({ query: REPORT_LEAK, variables: { secret } }, { next: (message) => (value = message), error: reject, complete: () => resolve(value as never) });
    });
    expect(result.data?.reportLeakedKey.received).toBe(true);
    expect((await owner.call(GET, { id: apiKey.id })).apiKey).toMatchObject({ status: 'DISABLED' });
  });

    it('still refuses every other operation without a token, and a request mixing the leak report with one', async () => {
    const unauthenticated = [
      await gql(keyhub.url, null, QUOTA),
      await gql(keyhub.url, null, `mutation($secret: String!) { reportLeakedKey(secret: $secret) { received } rotateApiKey(id: "x", gracePeriodSeconds: 1) { secret } }`, { secret: 'sk-x' }),
      await gql(keyhub.url, null, `query { __typename }`),
    ];
    for (const response of unauthenticated) {
      expect(response.status).toBe(401);
      expect(errorOf(response).code).toBe('UNAUTHENTICATED');
      expect(response.data).toBeUndefined();
    }
  });
});

import { Webhook as Verifier } from 'standardwebhooks';
import { clientFor, errorOf } from '../support/graphqlClient';
import { CREATE, SET_STATUS } from '../support/operations';
import { startInProcessKeyhub } from '../http/inProcessKeyhub';
import { until } from '../support/apiHelpers';
import { startReceiver } from '../webhooks/receiver';

const WEBHOOK_FIELDS = 'id url events enabled createdAt';
const CREATE_WEBHOOK = `mutation($url: String!, $events: [String!]!) { createWebhook(url: $url, events: $events) { signingSecret webhook { ${WEBHOOK_FIELDS} } } }`;
const DELETE_WEBHOOK = `mutation($id: ID!) { deleteWebhook(id: $id) }`;
const WEBHOOKS = `{ webhooks { ${WEBHOOK_FIELDS} } }`;
const DELIVERIES = `query($id: ID!, $first: Int) { webhookDeliveries(webhookId: $id, first: $first) { id event status attempts lastStatusCode createdAt deliveredAt } }`;

describe('Webhooks over GraphQL', () => {
  let keyhub: Awaited<ReturnType<typeof startInProcessKeyhub>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    keyhub = await startInProcessKeyhub();
    receiver = await startReceiver([204]);
  });
  afterAll(async () => {
    await keyhub.stop();
    await receiver.close();
  });

  it('registers a webhook (its secret shown once), delivers to it, lists it and its deliveries, and deletes it', async () => {
    const owner = await clientFor(keyhub.url, { sub: 'hook-owner', account: 'acct-gql-hooks' });
    const { createWebhook } = await owner.call(CREATE_WEBHOOK, { url: receiver.url, events: ['KEY_DISABLED'] });
    expect(createWebhook).toEqual({ signingSecret: expect.stringMatching(/^whsec_/), webhook: { id: expect.any(String), url: receiver.url, events: ['KEY_DISABLED'], enabled: true, createdAt: expect.any(String) } });
    expect((await owner.call(WEBHOOKS)).webhooks).toEqual([createWebhook.webhook]);

    const { createApiKey } = await owner.call(CREATE, { input: { name: 'hooked', acceptTerms: true } });
    await owner.call(SET_STATUS, { id: createApiKey.apiKey.id, status: 'DISABLED' });
    await until(async () => (await owner.call(DELIVERIES, { id: createWebhook.webhook.id })).webhookDeliveries[0]?.status === 'DELIVERED');
    const [delivery] = (await owner.call(DELIVERIES, { id: createWebhook.webhook.id })).webhookDeliveries;
    expect(delivery).toEqual({ id: receiver.received[0]?.headers['webhook-id'], event: 'KEY_DISABLED', status: 'DELIVERED', attempts: 1, lastStatusCode: 204, createdAt: expect.any(String), deliveredAt: expect.any(String) });
    expect(new Verifier(createWebhook.signingSecret).verify(receiver.received[0]!.body, receiver.received[0]!.headers as Record<string, string>)).toMatchObject({ type: 'KEY_DISABLED' });

    const stranger = await clientFor(keyhub.url, { sub: 'stranger', account: 'acct-elsewhere' });
    expect((await stranger.call(WEBHOOKS)).webhooks).toEqual([]);
    expect(errorOf(await stranger.raw(DELIVERIES, { id: createWebhook.webhook.id }))).toMatchObject({ code: 'NOT_FOUND' });
    expect(errorOf(await stranger.raw(DELETE_WEBHOOK, { id: createWebhook.webhook.id }))).toMatchObject({ code: 'NOT_FOUND' });

    expect((await owner.call(DELETE_WEBHOOK, { id: createWebhook.webhook.id })).deleteWebhook).toBe(createWebhook.webhook.id);
    expect((await owner.call(WEBHOOKS)).webhooks).toEqual([]);
    expect(errorOf(await owner.raw(DELETE_WEBHOOK, { id: createWebhook.webhook.id }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses bad URLs and event kinds with BAD_USER_INPUT naming the field, registering nothing', async () => {
    const owner = await clientFor(keyhub.url, { sub: 'hook-owner-2', account: 'acct-gql-hooks-2' });
    expect(errorOf(await owner.raw(CREATE_WEBHOOK, { url: 'http://hooks.example.com/x', events: ['KEY_DISABLED'] }))).toEqual({ code: 'BAD_USER_INPUT', field: 'url' });
    expect(errorOf(await owner.raw(CREATE_WEBHOOK, { url: 'https://hooks.example.com/x', events: ['KEY_MELTED'] }))).toEqual({ code: 'BAD_USER_INPUT', field: 'events' });
    expect(errorOf(await owner.raw(DELIVERIES, { id: 'nope', first: 1000 }))).toEqual({ code: 'BAD_USER_INPUT', field: 'first' });
    expect((await owner.call(WEBHOOKS)).webhooks).toEqual([]);
  });
});

describe('Webhooks in production', () => {
  it('refuses loopback, private and plain-HTTP targets', async () => {
    const keyhub = await startInProcessKeyhub({ NODE_ENV: 'production', FORWARD_AUTH_OPEN: 'true' });
    try {
      const owner = await clientFor(keyhub.url, { sub: 'prod-owner', account: 'acct-prod-hooks' });
      for (const url of ['http://127.0.0.1:9/x', 'https://127.0.0.1/x', 'https://10.0.0.8/x', 'https://[fd00::1]/x', 'https://localhost/x']) {
        expect(errorOf(await owner.raw(CREATE_WEBHOOK, { url, events: ['KEY_DELETED'] }))).toEqual({ code: 'BAD_USER_INPUT', field: 'url' });
      }
    } finally {
      await keyhub.stop();
    }
  });
});

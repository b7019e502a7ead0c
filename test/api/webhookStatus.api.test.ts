import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import { newOwner, until } from '../support/apiHelpers';
import { CREATE, SET_STATUS } from '../support/operations';
import { startReceiver } from '../webhooks/receiver';

const CREATE_WEBHOOK = `mutation($url: String!, $events: [String!]!) { createWebhook(url: $url, events: $events) { webhook { id } } }`;
const WEBHOOKS = `{ webhooks { id enabled } }`;
const WEBHOOK_STATUS = `subscription { webhookStatusChanged { webhookId accountId enabled reason occurredAt } }`;
const RETRY_FOR_SECONDS = 60;

type Owner = Awaited<ReturnType<typeof newOwner>>;

describe("A webhook failing for the whole retry window is disabled, and its account told on its live feed", () => {
  let keyhub: KeyhubSpecification;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    keyhub = await startApiSpecification({ env: { WEBHOOK_RETRY_FOR_SECONDS: String(RETRY_FOR_SECONDS) } });
    receiver = await startReceiver([500]);
  });
  afterAll(async () => {
    await keyhub.stop();
    await receiver.close();
  });

  /** A webhook of `owner` for KEY_DISABLED, and a delivery to it that fails (its first attempt made). */
  const failingWebhook = async (owner: Owner): Promise<string> => {
    const { webhook } = (await owner.call(CREATE_WEBHOOK, { url: receiver.url, events: ['KEY_DISABLED'] })).createWebhook;
    const before = receiver.received.length;
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'watched', acceptTerms: true } })).createApiKey;
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    await until(async () => receiver.received.length > before);
    return webhook.id as string;
  };
  /** Past the retry window: the next attempt (the sender looks every second) fails for the last time. */
  const retryWindowOver = () => keyhub.clock.advance((RETRY_FOR_SECONDS + 60) * 1000);

  it('pushes webhookStatusChanged (enabled: false, with the reason) to the owning account only; webhooks shows it disabled', async () => {
    const owner = await newOwner(keyhub.url);
    const stranger = await newOwner(keyhub.url);
    const ownersFeed = await keyhub.live(owner, WEBHOOK_STATUS);
    const strangersFeed = await keyhub.live(stranger, WEBHOOK_STATUS);
    const webhookId = await failingWebhook(owner);
    const strangersWebhookId = await failingWebhook(stranger);
    expect((await owner.call(WEBHOOKS)).webhooks).toEqual([{ id: webhookId, enabled: true }]);

    retryWindowOver(); // both fail for good, in either order: a feed showing another account's webhook fails one of the checks below
    expect((await ownersFeed.next(10_000)).webhookStatusChanged).toEqual({
      webhookId,
      accountId: owner.identity.account,
      enabled: false,
      reason: 'deliveries failed for the whole retry window',
      occurredAt: keyhub.clock.now().toISOString(),
    });
    // The stranger's first item is its own webhook.
    expect((await strangersFeed.next(10_000)).webhookStatusChanged).toMatchObject({ webhookId: strangersWebhookId, accountId: stranger.identity.account, enabled: false });
    expect((await owner.call(WEBHOOKS)).webhooks).toEqual([{ id: webhookId, enabled: false }]);
  });
});

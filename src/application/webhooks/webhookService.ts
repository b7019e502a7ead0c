import { createHmac, hkdfSync } from 'node:crypto';
import type { WebhookRegistryCommand, WebhookView } from '../../domain/webhooks/webhookRegistry';
import { WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider } from '../../domain/webhooks/webhookRegistry';
import { badInput, notFound } from '../../domain/errors';
import { EVENT_SCHEMA_VERSION } from '../../eventLog/streams';
import type { Caller } from '../caller';
import type { CommandHandler } from '../commandHandler';
import type { DeliveryState, WebhookDeliveryLog } from './webhookDeliveryLog';

/** How many deliveries `webhookDeliveries` answers at most. */
export const DELIVERIES_PAGE_MAX = 100;
const REGISTRY_RETRIES = 20;

/**
 * Webhook signing secrets are derived, not stored: HMAC-SHA256(signing key, webhook id). The
 * sender can sign with it, the log holds nothing secret, and it is shown once (creating the
 * webhook). The signing key is WEBHOOK_SIGNING_KEY, or else derived from JWT_SECRET with HKDF
 * (so rotating JWT_SECRET without WEBHOOK_SIGNING_KEY set changes every webhook's secret).
 */
export function webhookSecrets(signingKey: string | undefined, jwtSecret: string): (webhookId: string) => string {
  const key = signingKey !== undefined ? Buffer.from(signingKey, 'utf8') : Buffer.from(hkdfSync('sha256', jwtSecret, 'keyhub', 'keyhub webhook signing key', 32));
  return (webhookId) => `whsec_${createHmac('sha256', key).update(`webhook:${webhookId}`).digest('base64')}`;
}

/** The use cases of webhooks: register (the secret shown once), delete, list, and a webhook's delivery history. */
export class WebhookService {
  constructor(
    private readonly handler: CommandHandler,
    private readonly deliveries: WebhookDeliveryLog,
    private readonly secretOf: (webhookId: string) => string,
    private readonly environment: { clock: () => Date; newId: () => string; production: boolean },
  ) {}

  async create(caller: Caller, url: string, events: readonly string[]): Promise<{ webhook: WebhookView; signingSecret: string }> {
    const webhookId = this.environment.newId();
    const { state } = await this.run(caller, { type: 'CreateWebhook', data: { webhookId, accountId: caller.accountId, url, events, now: this.now(), production: this.environment.production } });
    const webhook = state.get(webhookId);
    if (!webhook) throw new Error('a created webhook must be registered');
    return { webhook, signingSecret: this.secretOf(webhookId) };
  }

  async delete(caller: Caller, webhookId: string): Promise<string> {
    await this.run(caller, { type: 'DeleteWebhook', data: { webhookId, accountId: caller.accountId, now: this.now() } });
    return webhookId;
  }

  /** Disables a webhook whose deliveries failed for the whole retry window. */
  async disable(webhookId: string, reason: string): Promise<void> {
    const command: WebhookRegistryCommand = { type: 'DisableWebhook', data: { webhookId, reason, now: this.now() } };
    const metadata = { actor: 'keyhub:webhook-sender', correlationId: webhookId, causationId: webhookId, schemaVersion: EVENT_SCHEMA_VERSION };
    await this.handler.handle(WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider, command, { metadata, retriesOnConflict: REGISTRY_RETRIES });
  }

  async list(caller: Caller): Promise<WebhookView[]> {
    const { state } = await this.handler.aggregate(WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider);
    return [...state.values()].filter((webhook) => webhook.accountId === caller.accountId);
  }

  async history(caller: Caller, webhookId: string, first: number): Promise<DeliveryState[]> {
    if (!Number.isInteger(first) || first < 1 || first > DELIVERIES_PAGE_MAX) throw badInput('first', `first must be from 1 to ${DELIVERIES_PAGE_MAX}`);
    const { state } = await this.handler.aggregate(WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider);
    if (state.get(webhookId)?.accountId !== caller.accountId) throw notFound('webhook');
    return this.deliveries.history(webhookId, first);
  }

  private run(caller: Caller, command: WebhookRegistryCommand) {
    const metadata = { actor: caller.sub, correlationId: caller.requestId, causationId: caller.requestId, schemaVersion: EVENT_SCHEMA_VERSION };
    return this.handler.handle(WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider, command, { metadata, retriesOnConflict: REGISTRY_RETRIES });
  }

  private now(): string {
    return this.environment.clock().toISOString();
  }
}

import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import type { RetryPolicy } from '../../domain/webhooks/notifications';
import { nextAttemptAt } from '../../domain/webhooks/notifications';
import { isPublicAddress } from '../../domain/webhooks/webhookUrl';
import type { Logger } from '../../logger';
import type { EventStore } from '../../ports/eventStore';
import { ANY, NO_STREAM, WrongExpectedVersionError, jsonEvent } from '../../ports/eventStore';
import type { DeliveryAttempted, DeliveryClaimed, DeliveryState, WebhookDeliveryLog } from './webhookDeliveryLog';
import { webhookAttemptsStream } from './webhookDeliveryLog';

export interface SenderOptions {
  retry: RetryPolicy;
  /** One attempt's deadline: connecting, sending and the receiver's answer. */
  timeoutMs: number;
  /** Attempts in flight at once, all webhooks together; each webhook has at most one. */
  maxInFlight: number;
  /** Production: deliveries reach public addresses only, checked on the address actually connected to. */
  production: boolean;
  /** How often to look for due deliveries; 0: only when `tick` is called (tests). */
  pollMs: number;
}

/** The signing secret of a webhook, derived (not stored): see webhookSecrets.ts. */
export type SigningSecretOf = (webhookId: string) => string;

/** A claim outlives the attempt's deadline by this much (the result's append, clock differences). */
const CLAIM_MARGIN_MS = 5000;

export type AttemptResult = { statusCode: number } | { error: string };

/** Refuses to connect to anything but public addresses: the name is resolved, each address checked, and the checked address is the one connected to (no second resolution to rebind). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 4);
    const list = addresses as unknown as Array<{ address: string; family: number }>;
    const blocked = list.find((entry) => !isPublicAddress(entry.address));
    if (blocked || list.length === 0) return callback(Object.assign(new Error(`webhook target ${hostname} resolves to a non-public address`), { code: 'EBLOCKED' }), '', 4);
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
    const first = list[0] as { address: string; family: number };
    callback(null, first.address, first.family);
  });
};

/** POSTs one delivery; never throws: a status code, or why there is none. The answer's body is not read beyond 64 KiB. */
export function post(url: string, body: string, headers: Record<string, string>, options: { timeoutMs: number; production: boolean }): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return finish({ error: 'invalid url' });
    }
    // A literal address is connected to without a lookup: check it here.
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (options.production && isIP(literal) !== 0 && !isPublicAddress(literal)) return finish({ error: 'blocked: not a public address' });
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'keyhub-webhooks' },
      timeout: options.timeoutMs,
      ...(options.production ? { lookup: publicOnlyLookup } : {}),
    });
    const deadline = setTimeout(() => req.destroy(new Error('timeout')), options.timeoutMs);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      finish({ error: error.code === 'EBLOCKED' ? 'blocked: not a public address' : error.message === 'timeout' ? 'timeout' : (error.code ?? 'connection failed') });
    });
    req.on('response', (res) => {
      clearTimeout(deadline);
      finish({ statusCode: res.statusCode ?? 0 });
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > 65_536) res.destroy();
      });
      res.on('error', () => undefined);
    });
    req.end(body);
  });
}

/**
 * Sends due deliveries: each attempt signed the Standard Webhooks way (`webhook-id` is the
 * delivery's id, the same on every retry; `webhook-timestamp`; `webhook-signature` v1 HMAC-SHA256),
 * its result appended to the webhook's attempts stream. A 2xx is DELIVERED; anything else is
 * retried with backoff and jitter until the retry window is over, then FAILED, and the webhook is
 * disabled (its endpoint failed for the whole window). One attempt per webhook at a time and a
 * bounded number in all, each with a deadline: a slow receiver holds its own deliveries only.
 */
export class WebhookSender {
  private readonly inFlight = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private kicked = false;

  constructor(
    private readonly store: EventStore,
    private readonly log: WebhookDeliveryLog,
    private readonly secretOf: SigningSecretOf,
    private readonly options: SenderOptions,
    private readonly environment: { clock: () => Date; random: () => number },
    private readonly logger: Logger,
    private readonly hooks: { onResult?: (status: 'DELIVERED' | 'PENDING' | 'FAILED') => void; onFailed?: (webhookId: string) => Promise<void> } = {},
  ) {}

  start(): void {
    if (this.options.pollMs <= 0) return;
    const poll = () => {
      if (this.stopped) return;
      void this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(poll, this.options.pollMs);
      });
    };
    this.timer = setTimeout(poll, this.options.pollMs);
  }

  /** Looks for due work soon (a new delivery was scheduled); calls coalesce. */
  kick(): void {
    if (this.stopped || this.kicked) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      if (!this.stopped) void this.tick();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all(this.inFlight.values());
  }

  /** Starts every due attempt there is room for; resolves when those attempts are recorded. */
  async tick(): Promise<void> {
    const nowMs = this.environment.clock().getTime();
    const started: Array<Promise<void>> = [];
    for (const delivery of this.log.due(nowMs)) {
      if (this.inFlight.size >= this.options.maxInFlight) break;
      if (this.inFlight.has(delivery.webhookId)) continue;
      const attempt = this.attempt(delivery).catch((error: unknown) => this.logger.error({ err: error, deliveryId: delivery.id }, 'recording a webhook attempt failed; it is tried again'));
      const tracked = attempt.finally(() => this.inFlight.delete(delivery.webhookId));
      this.inFlight.set(delivery.webhookId, tracked);
      started.push(tracked);
    }
    await Promise.all(started);
  }

  /**
   * Takes the attempt for this instance: a claim appended to the webhook's attempts stream at the
   * revision this instance has seen. Another instance's claim or result in between makes it fail:
   * that instance sends (or this one's view is behind, and catches up first). A claim lapses after
   * the attempt's deadline, so an instance that stopped mid-attempt does not hold the delivery.
   */
  private async claim(delivery: DeliveryState, attempt: number, metadata: { [field: string]: string | number }): Promise<boolean> {
    const claim: DeliveryClaimed = { deliveryId: delivery.id, attempt, claimedUntil: new Date(this.environment.clock().getTime() + this.options.timeoutMs + CLAIM_MARGIN_MS).toISOString() };
    try {
      const appended = await this.store.appendToStream(webhookAttemptsStream(delivery.webhookId), [jsonEvent({ type: 'WebhookDeliveryClaimed', data: claim, metadata })], {
        expectedRevision: this.log.revisionOf(delivery.webhookId) ?? NO_STREAM,
      });
      this.log.appended(delivery.webhookId, appended.nextExpectedRevision);
      this.log.claimed(claim);
      return true;
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return false;
      throw error;
    }
  }

  private async attempt(delivery: DeliveryState): Promise<void> {
    const webhook = this.log.webhook(delivery.webhookId);
    if (!webhook || !webhook.enabled) return; // deleted or disabled: nothing more is sent to it
    const attempt = delivery.attempts + 1;
    const metadata = { actor: 'keyhub:webhook-sender', correlationId: delivery.id, causationId: delivery.id, schemaVersion: 1 };
    if (!(await this.claim(delivery, attempt, metadata))) return;
    const sentAt = this.environment.clock();
    const signature = new Webhook(this.secretOf(webhook.id)).sign(delivery.id, sentAt, delivery.body);
    const headers = { 'webhook-id': delivery.id, 'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)), 'webhook-signature': signature };
    const result = await post(webhook.url, delivery.body, headers, { timeoutMs: this.options.timeoutMs, production: this.options.production });
    const nowMs = this.environment.clock().getTime();
    const ok = 'statusCode' in result && result.statusCode >= 200 && result.statusCode < 300;
    const next = ok ? null : nextAttemptAt(this.options.retry, attempt, Date.parse(delivery.createdAt), nowMs, this.environment.random);
    const recorded: DeliveryAttempted = {
      deliveryId: delivery.id,
      webhookId: webhook.id,
      attempt,
      statusCode: 'statusCode' in result ? result.statusCode : null,
      error: 'error' in result ? result.error : null,
      status: ok ? 'DELIVERED' : next === null ? 'FAILED' : 'PENDING',
      nextAttemptAt: next === null ? null : new Date(next).toISOString(),
      occurredAt: new Date(nowMs).toISOString(),
    };
    const appended = await this.store.appendToStream(webhookAttemptsStream(webhook.id), [jsonEvent({ type: 'WebhookDeliveryAttempted', data: recorded, metadata })], { expectedRevision: ANY });
    this.log.appended(webhook.id, appended.nextExpectedRevision);
    this.log.attempted(recorded);
    this.hooks.onResult?.(recorded.status);
    if (recorded.status === 'FAILED') await this.hooks.onFailed?.(webhook.id);
  }
}

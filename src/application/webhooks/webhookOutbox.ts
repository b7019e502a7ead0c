import { randomUUID } from 'node:crypto';
import type { WebhookRegistryEvent, WebhookRegistryState } from '../../domain/webhooks/webhookRegistry';
import { WEBHOOK_REGISTRY_EVENT_TYPES, WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider } from '../../domain/webhooks/webhookRegistry';
import type { WebhookEventKind } from '../../domain/webhooks/notifications';
import { deliveryBody, deliveryIdOf, notificationOf } from '../../domain/webhooks/notifications';
import { STREAM_PREFIX } from '../../eventLog/streams';
import { firstRegistration } from './firstRegistration';
import { KEY_NOTICE_PREFIX, claimNotice } from './noticeClaim';
import type { ApiKeysUsed } from '../../domain/usage';
import type { Logger } from '../../logger';
import type { AllStreamSubscription, EventStore, JSONObject, Position, RecordedEvent } from '../../ports/eventStore';
import { BACKWARDS, END, NO_STREAM, START, StreamNotFoundError, WrongExpectedVersionError, comparePositions, jsonEvent, streamNameFilter } from '../../ports/eventStore';

export const WEBHOOK_OUTBOX_STREAM = 'webhookOutbox';
/** What the outbox reads: key events, key uses (limits reached) and notices (what is notified) and the registry (who is notified), in log order. */
export const OUTBOX_SOURCE_PREFIXES = [STREAM_PREFIX.apiKey, STREAM_PREFIX.usage, KEY_NOTICE_PREFIX, WEBHOOK_REGISTRY_STREAM];
/** A LIMIT_REACHED notice's stream: one per key, limit (reason) and window (its end). */
export const limitNoticeStream = (keyId: string, reason: string, windowEnd: string): string => `${KEY_NOTICE_PREFIX}LIMIT-${keyId}-${reason}-${Date.parse(windowEnd)}`;
/** Claimed limit notices remembered (so that each flush of a refused key does not try again); forgotten once their window ended. */
const CLAIMED_KEPT = 10_000;
/** Source events without deliveries are not recorded one by one: the checkpoint moves at least this often. */
const ADVANCE_EVERY = 1000;
const RETRY_DELAYS_MS = [100, 500, 1000, 5000];

export interface ScheduledDelivery extends JSONObject {
  deliveryId: string;
  webhookId: string;
  accountId: string;
  kind: WebhookEventKind;
  /** The exact body to POST (and sign). */
  body: string;
  scheduledAt: string;
}

/** One append of the outbox: the deliveries due for source events up to `upTo`, which is the outbox's checkpoint. */
export interface DeliveriesScheduled extends JSONObject {
  upTo: { commit: string; prepare: string };
  deliveries: ScheduledDelivery[];
}

const positionOf = (upTo: DeliveriesScheduled['upTo']): Position => ({ commit: BigInt(upTo.commit), prepare: BigInt(upTo.prepare) });

/**
 * The webhook outbox, fed from the event log: a catch-up subscription from its checkpoint turns
 * each key event into deliveries for the webhooks its account had registered at that point of
 * the log (the registry is folded from the same subscription, in order), and appends them with
 * the checkpoint to the `webhookOutbox` stream in one append, at the revision it read. So a crash
 * or restart resumes from the last append: nothing scheduled is lost, nothing is scheduled twice
 * (a second instance's append at the same revision fails; it then skips what the winner covered).
 */
export class WebhookOutbox {
  private checkpoint: Position | null = null;
  private revision: bigint | null = null;
  private registry: WebhookRegistryState = webhookRegistryDecider.initialState();
  private subscription: AllStreamSubscription | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private sinceAppend = 0;
  private lastSeen: Position | null = null;
  /** Limit notice streams known to exist, with their window's end (ms). */
  private readonly limitNoticesClaimed = new Map<string, number>();
  healthy = false;

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
    private readonly clock: () => Date,
  ) {}

  /** The last source position processed (for the lag metric). */
  get position(): Position | null {
    return this.lastSeen;
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.unsubscribe();
    await this.running;
  }

  private async loop(): Promise<void> {
    for (let failures = 0; !this.stopped; failures += 1) {
      try {
        await this.resume();
        this.healthy = true;
        this.subscription = this.store.subscribeToAll({ fromPosition: this.lastSeen ?? START, filter: streamNameFilter({ prefixes: OUTBOX_SOURCE_PREFIXES }) });
        for await (const resolved of this.subscription) {
          if (this.stopped) return;
          if (resolved.event) await this.consume(resolved.event);
          failures = 0;
        }
        if (this.stopped) return;
        throw new Error('the subscription to the log ended');
      } catch (error) {
        if (this.stopped) return;
        this.healthy = false;
        const delay = RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)] as number;
        this.logger.error({ err: error, retryInMs: delay }, 'webhook outbox failed; resuming from its checkpoint');
        await this.subscription?.unsubscribe().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  /** Reads the checkpoint (the outbox's last append) and folds the registry up to it; without one, starts at the first registration. */
  private async resume(): Promise<void> {
    const last = await this.lastAppend();
    this.revision = last?.revision ?? null;
    this.checkpoint = last ? positionOf(last.data.upTo) : null;
    this.lastSeen = this.checkpoint ?? (await firstRegistration(this.store)).after;
    this.sinceAppend = 0;
    let registry = webhookRegistryDecider.initialState();
    try {
      for await (const resolved of this.store.readStream(WEBHOOK_REGISTRY_STREAM)) {
        const event = resolved.event;
        if (!event || (this.lastSeen !== null && comparePositions(event.position, this.lastSeen) > 0)) break;
        registry = webhookRegistryDecider.evolve(registry, { type: event.type, data: event.data } as WebhookRegistryEvent);
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    this.registry = registry;
  }

  private async lastAppend(): Promise<{ revision: bigint; data: DeliveriesScheduled } | null> {
    try {
      for await (const resolved of this.store.readStream(WEBHOOK_OUTBOX_STREAM, { fromRevision: END, direction: BACKWARDS, maxCount: 1 })) {
        if (resolved.event) return { revision: resolved.event.revision, data: resolved.event.data as DeliveriesScheduled };
      }
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    return null;
  }

  private async consume(event: RecordedEvent): Promise<void> {
    if (this.lastSeen !== null && comparePositions(event.position, this.lastSeen) <= 0) return;
    this.lastSeen = event.position;
    if (event.streamId === WEBHOOK_REGISTRY_STREAM) {
      if (WEBHOOK_REGISTRY_EVENT_TYPES.includes(event.type)) this.registry = webhookRegistryDecider.evolve(this.registry, { type: event.type, data: event.data } as WebhookRegistryEvent);
      return this.advanceMaybe();
    }
    // Another instance may have scheduled past this event already (its append won): the registry above still follows every event.
    if (this.checkpoint !== null && comparePositions(event.position, this.checkpoint) <= 0) return;
    if (event.streamId === STREAM_PREFIX.usage) {
      if (event.type === 'ApiKeysUsed') await this.noticeLimitsReached(event.data as unknown as ApiKeysUsed['data']);
      return this.advanceMaybe();
    }
    const deliveries = this.deliveriesFor(event);
    if (deliveries.length === 0) return this.advanceMaybe();
    await this.append(event.position, deliveries, event.id);
  }

  /**
   * LIMIT_REACHED, once per key, limit and window: each limit window a key was refused in (the
   * usage events' `limitsReached`) is claimed as a notice stream of its own with NO_STREAM, for
   * accounts with a webhook wanting it; the notice comes back through this subscription and is
   * delivered like any other. Another instance's or an earlier run's claim makes this one a no-op.
   */
  private async noticeLimitsReached(data: ApiKeysUsed['data']): Promise<void> {
    const nowMs = this.clock().getTime();
    if (this.limitNoticesClaimed.size > CLAIMED_KEPT) for (const [stream, endMs] of this.limitNoticesClaimed) if (endMs <= nowMs) this.limitNoticesClaimed.delete(stream);
    for (const use of data.uses ?? []) {
      for (const count of use.counts ?? []) {
        for (const reached of count.limitsReached ?? []) {
          const stream = limitNoticeStream(use.keyId, reached.reason, reached.windowEnd);
          if (this.limitNoticesClaimed.has(stream) || !this.wanted(use.accountId, 'LIMIT_REACHED')) continue;
          const notice = { keyId: use.keyId, accountId: use.accountId, reason: reached.reason, windowEndsAt: reached.windowEnd, occurredAt: count.minute };
          await claimNotice(this.store, stream, 'KeyLimitReachedNoticed', notice, 'keyhub:webhook-outbox');
          this.limitNoticesClaimed.set(stream, Date.parse(reached.windowEnd));
        }
      }
    }
  }

  private wanted(accountId: string, kind: WebhookEventKind): boolean {
    for (const webhook of this.registry.values()) if (webhook.accountId === accountId && webhook.enabled && webhook.events.includes(kind)) return true;
    return false;
  }

  private deliveriesFor(event: RecordedEvent): ScheduledDelivery[] {
    const notification = notificationOf(event);
    if (!notification) return [];
    const scheduledAt = this.clock().toISOString();
    const body = deliveryBody(notification);
    return [...this.registry.values()]
      .filter((webhook) => webhook.accountId === notification.accountId && webhook.enabled && webhook.events.includes(notification.kind))
      .map((webhook) => ({ deliveryId: deliveryIdOf(event.id, webhook.id), webhookId: webhook.id, accountId: webhook.accountId, kind: notification.kind, body, scheduledAt }));
  }

  private async advanceMaybe(): Promise<void> {
    this.sinceAppend += 1;
    const ahead = this.lastSeen !== null && (this.checkpoint === null || comparePositions(this.lastSeen, this.checkpoint) > 0);
    if (this.sinceAppend >= ADVANCE_EVERY && ahead && this.lastSeen) await this.append(this.lastSeen, [], 'checkpoint');
  }

  /** Appends at the revision read; when another instance appended first, what it covered is skipped. */
  private async append(upTo: Position, deliveries: ScheduledDelivery[], cause: string): Promise<void> {
    const data: DeliveriesScheduled = { upTo: { commit: upTo.commit.toString(), prepare: upTo.prepare.toString() }, deliveries };
    const metadata = { actor: 'keyhub:webhook-outbox', correlationId: cause, causationId: cause, schemaVersion: 1 };
    for (;;) {
      try {
        const result = await this.store.appendToStream(WEBHOOK_OUTBOX_STREAM, [jsonEvent({ id: randomUUID(), type: 'WebhookDeliveriesScheduled', data, metadata })], {
          expectedRevision: this.revision ?? NO_STREAM,
        });
        this.revision = result.nextExpectedRevision;
        this.checkpoint = upTo;
        this.sinceAppend = 0;
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        const last = await this.lastAppend();
        this.revision = last?.revision ?? null;
        if (last && comparePositions(positionOf(last.data.upTo), upTo) >= 0) {
          this.checkpoint = positionOf(last.data.upTo);
          return; // another instance scheduled these already
        }
      }
    }
  }
}

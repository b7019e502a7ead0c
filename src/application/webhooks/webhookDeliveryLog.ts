import type { WebhookRegistryEvent, WebhookRegistryState } from '../../domain/webhooks/webhookRegistry';
import { WEBHOOK_REGISTRY_EVENT_TYPES, WEBHOOK_REGISTRY_STREAM, webhookRegistryDecider } from '../../domain/webhooks/webhookRegistry';
import type { Logger } from '../../logger';
import type { AllStreamSubscription, EventStore, JSONObject, Position, RecordedEvent } from '../../ports/eventStore';
import { BACKWARDS, END, START, comparePositions, streamNameFilter } from '../../ports/eventStore';
import type { DeliveriesScheduled } from './webhookOutbox';
import { WEBHOOK_OUTBOX_STREAM } from './webhookOutbox';
import { firstRegistration } from './firstRegistration';

export const WEBHOOK_ATTEMPTS_PREFIX = 'webhookAttempts-';
export const webhookAttemptsStream = (webhookId: string): string => `${WEBHOOK_ATTEMPTS_PREFIX}${webhookId}`;

export type DeliveryStatus = 'PENDING' | 'DELIVERED' | 'FAILED';

/** The result of one attempt, appended to the webhook's attempts stream. */
export interface DeliveryAttempted extends JSONObject {
  deliveryId: string;
  webhookId: string;
  attempt: number;
  statusCode: number | null;
  /** Why the attempt failed without a status (timeout, refused connection, a blocked address). */
  error: string | null;
  status: DeliveryStatus;
  /** With PENDING: when the next attempt is due. */
  nextAttemptAt: string | null;
  occurredAt: string;
}

/** An instance takes attempt `attempt` of a delivery until `claimedUntil`: appended at the attempts stream's revision it read, so one instance wins. */
export interface DeliveryClaimed extends JSONObject {
  deliveryId: string;
  attempt: number;
  claimedUntil: string;
}

export interface DeliveryState {
  readonly id: string;
  readonly webhookId: string;
  readonly accountId: string;
  readonly kind: string;
  readonly body: string;
  readonly createdAt: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  deliveredAt: string | null;
  nextAttemptAtMs: number;
  /** While an instance's claim on the next attempt holds, no other sends it. */
  claimedUntilMs: number;
}

/** A webhook disabled by the sender (its endpoint failed for the whole retry window), as the account's live feed shows it. */
export interface WebhookStatusChangeView {
  webhookId: string;
  accountId: string;
  enabled: boolean;
  reason: string;
  occurredAt: Date;
  position: Position;
}

/** Deliveries kept per webhook for `webhookDeliveries`, newest last; finished ones beyond this are forgotten first. */
const HISTORY_PER_WEBHOOK = 500;

/**
 * Every webhook delivery and its state, folded from the log (the registry, the outbox's schedules,
 * the claims and attempts), from the first registration at each boot: what the sender sends from and `webhookDeliveries`
 * answers from. Attempts this instance makes are applied at once as well; the same attempt coming
 * back through the subscription is ignored (attempt numbers only grow).
 */
export class WebhookDeliveryLog {
  private registry: WebhookRegistryState = webhookRegistryDecider.initialState();
  private readonly deliveries = new Map<string, DeliveryState>();
  private readonly byWebhook = new Map<string, DeliveryState[]>();
  /** Each webhook's attempts stream revision, as far as this instance has seen: claims are appended at it. */
  private readonly attemptsRevision = new Map<string, bigint>();
  private subscription: AllStreamSubscription | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly listeners = new Set<() => void>();
  private readonly statusListeners = new Set<(change: WebhookStatusChangeView) => void>();
  /** Status changes at or before this position are history (folded at start), not news: only later ones are told, each once. */
  private toldUpTo: Position | null = null;
  private following = false;

  constructor(
    private readonly store: EventStore,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.subscription?.unsubscribe();
    await this.running;
  }

  /** Called after each event folded (the sender looks for due work). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Called for each webhook disabled after this instance started following the log (the live feed's source). */
  onStatusChange(listener: (change: WebhookStatusChangeView) => void): void {
    this.statusListeners.add(listener);
  }

  webhook(webhookId: string) {
    return this.registry.get(webhookId);
  }

  /** Accounts with an enabled webhook that wants `kind` (the timed notices scan only these). */
  accountsWanting(kind: string): Set<string> {
    return new Set([...this.registry.values()].filter((webhook) => webhook.enabled && webhook.events.includes(kind)).map((webhook) => webhook.accountId));
  }

  /** Deliveries that are PENDING and due at `nowMs`, oldest first. */
  due(nowMs: number): DeliveryState[] {
    return [...this.deliveries.values()].filter((delivery) => delivery.status === 'PENDING' && delivery.nextAttemptAtMs <= nowMs && delivery.claimedUntilMs <= nowMs);
  }

  /** A webhook's deliveries, newest first. */
  history(webhookId: string, first: number): DeliveryState[] {
    return [...(this.byWebhook.get(webhookId) ?? [])].reverse().slice(0, first);
  }

  get(deliveryId: string): DeliveryState | undefined {
    return this.deliveries.get(deliveryId);
  }

  revisionOf(webhookId: string): bigint | null {
    return this.attemptsRevision.get(webhookId) ?? null;
  }

  /** Notes an append to a webhook's attempts stream (this instance's, or one read from the log). */
  appended(webhookId: string, revision: bigint): void {
    const known = this.attemptsRevision.get(webhookId);
    if (known === undefined || revision > known) this.attemptsRevision.set(webhookId, revision);
  }

  /** Applies a claim on a delivery's next attempt. */
  claimed(claim: DeliveryClaimed): void {
    const delivery = this.deliveries.get(claim.deliveryId);
    if (!delivery || claim.attempt <= delivery.attempts) return;
    delivery.claimedUntilMs = Date.parse(claim.claimedUntil);
  }

  /** Applies an attempt's result (this instance's, or one read from the log). */
  attempted(result: DeliveryAttempted): void {
    const delivery = this.deliveries.get(result.deliveryId);
    if (!delivery || result.attempt <= delivery.attempts) return;
    delivery.claimedUntilMs = 0;
    delivery.attempts = result.attempt;
    delivery.status = result.status;
    delivery.lastStatusCode = result.statusCode;
    if (result.status === 'DELIVERED') delivery.deliveredAt = result.occurredAt;
    delivery.nextAttemptAtMs = result.nextAttemptAt === null ? Number.POSITIVE_INFINITY : Date.parse(result.nextAttemptAt);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        // Nothing webhook-related precedes the first registration: start there (folded here, as a subscription starts after it).
        if (!this.following) (this.toldUpTo = await logEnd(this.store)), (this.following = true);
        const { first, after } = await firstRegistration(this.store);
        this.reset();
        if (first) this.fold(first);
        this.subscription = this.store.subscribeToAll({ fromPosition: after ?? START, filter: streamNameFilter({ prefixes: [WEBHOOK_REGISTRY_STREAM, WEBHOOK_OUTBOX_STREAM, WEBHOOK_ATTEMPTS_PREFIX] }) });
        for await (const resolved of this.subscription) {
          if (this.stopped) return;
          if (resolved.event) this.fold(resolved.event);
        }
        if (this.stopped) return;
        throw new Error('the subscription to the log ended');
      } catch (error) {
        if (this.stopped) return;
        this.logger.error({ err: error }, 'webhook delivery log failed; reading the log again');
        await this.subscription?.unsubscribe().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  private reset(): void {
    this.registry = webhookRegistryDecider.initialState();
    this.deliveries.clear();
    this.byWebhook.clear();
    this.attemptsRevision.clear();
  }

  private fold(event: RecordedEvent): void {
    if (event.streamId === WEBHOOK_REGISTRY_STREAM && WEBHOOK_REGISTRY_EVENT_TYPES.includes(event.type)) {
      this.registry = webhookRegistryDecider.evolve(this.registry, { type: event.type, data: event.data } as WebhookRegistryEvent);
      if (event.type === 'WebhookDisabled') this.tell(event);
    } else if (event.streamId === WEBHOOK_OUTBOX_STREAM && event.type === 'WebhookDeliveriesScheduled') {
      for (const scheduled of (event.data as DeliveriesScheduled).deliveries) this.schedule(scheduled);
    } else if (event.streamId.startsWith(WEBHOOK_ATTEMPTS_PREFIX)) {
      this.appended(event.streamId.slice(WEBHOOK_ATTEMPTS_PREFIX.length), event.revision);
      if (event.type === 'WebhookDeliveryClaimed') this.claimed(event.data as DeliveryClaimed);
      if (event.type === 'WebhookDeliveryAttempted') this.attempted(event.data as DeliveryAttempted);
    }
    for (const listener of this.listeners) listener();
  }

  private tell(event: RecordedEvent): void {
    if (this.toldUpTo !== null && comparePositions(event.position, this.toldUpTo) <= 0) return;
    this.toldUpTo = event.position;
    const data = event.data as { webhookId: string; accountId: string; reason: string; occurredAt: string };
    const change: WebhookStatusChangeView = { webhookId: data.webhookId, accountId: data.accountId, enabled: false, reason: data.reason, occurredAt: new Date(data.occurredAt), position: event.position };
    for (const listener of this.statusListeners) listener(change);
  }

  private schedule(scheduled: DeliveriesScheduled['deliveries'][number]): void {
    if (this.deliveries.has(scheduled.deliveryId)) return;
    const delivery: DeliveryState = {
      id: scheduled.deliveryId,
      webhookId: scheduled.webhookId,
      accountId: scheduled.accountId,
      kind: scheduled.kind,
      body: scheduled.body,
      createdAt: scheduled.scheduledAt,
      status: 'PENDING',
      attempts: 0,
      lastStatusCode: null,
      deliveredAt: null,
      nextAttemptAtMs: Date.parse(scheduled.scheduledAt),
      claimedUntilMs: 0,
    };
    this.deliveries.set(delivery.id, delivery);
    const list = this.byWebhook.get(delivery.webhookId) ?? [];
    list.push(delivery);
    this.byWebhook.set(delivery.webhookId, list);
    if (list.length > HISTORY_PER_WEBHOOK) {
      const oldestFinished = list.findIndex((candidate) => candidate.status !== 'PENDING');
      if (oldestFinished !== -1) {
        const [dropped] = list.splice(oldestFinished, 1);
        if (dropped) this.deliveries.delete(dropped.id);
      }
    }
  }
}

async function logEnd(store: EventStore): Promise<Position | null> {
  for await (const resolved of store.readAll({ fromPosition: END, direction: BACKWARDS, maxCount: 1 })) if (resolved.event) return resolved.event.position;
  return null;
}

import type { Decider } from '../decider';
import { DomainError, assertNever, badInput, notFound } from '../errors';
import type { Instant } from '../time';
import { WEBHOOK_EVENT_KINDS, isWebhookEventKind } from './notifications';
import { webhookTargetProblem } from './webhookUrl';

/**
 * Every account's webhooks, in one stream: the per-account maximum is a cross-webhook invariant,
 * and the outbox folds this stream in log order with the events it fans out (a webhook receives
 * what happens after its creation, and nothing after its deletion). Registrations are rare.
 */
export type WebhookRegistryEvent =
  | { readonly type: 'WebhookCreated'; readonly data: { webhookId: string; accountId: string; url: string; events: string[]; occurredAt: Instant } }
  | { readonly type: 'WebhookDeleted'; readonly data: { webhookId: string; accountId: string; occurredAt: Instant } }
  /** Its deliveries kept failing for the whole retry window: nothing more is sent to it. */
  | { readonly type: 'WebhookDisabled'; readonly data: { webhookId: string; accountId: string; reason: string; occurredAt: Instant } };

export type WebhookRegistryCommand =
  | { readonly type: 'CreateWebhook'; readonly data: { webhookId: string; accountId: string; url: string; events: readonly string[]; now: Instant; production: boolean } }
  | { readonly type: 'DeleteWebhook'; readonly data: { webhookId: string; accountId: string; now: Instant } }
  | { readonly type: 'DisableWebhook'; readonly data: { webhookId: string; reason: string; now: Instant } };

export interface WebhookView {
  readonly id: string;
  readonly accountId: string;
  readonly url: string;
  readonly events: readonly string[];
  readonly enabled: boolean;
  readonly createdAt: Instant;
}

export type WebhookRegistryState = ReadonlyMap<string, WebhookView>;

export const MAX_WEBHOOKS_PER_ACCOUNT = 10;
export const WEBHOOK_REGISTRY_EVENT_TYPES: readonly string[] = ['WebhookCreated', 'WebhookDeleted', 'WebhookDisabled'];

export function evolveWebhookRegistry(state: WebhookRegistryState, event: WebhookRegistryEvent): WebhookRegistryState {
  const next = new Map(state);
  switch (event.type) {
    case 'WebhookCreated': {
      const { webhookId, accountId, url, events, occurredAt } = event.data;
      next.set(webhookId, { id: webhookId, accountId, url, events, enabled: true, createdAt: occurredAt });
      return next;
    }
    case 'WebhookDeleted':
      next.delete(event.data.webhookId);
      return next;
    case 'WebhookDisabled': {
      const webhook = next.get(event.data.webhookId);
      if (webhook) next.set(webhook.id, { ...webhook, enabled: false });
      return next;
    }
    default:
      return assertNever(event);
  }
}

/** The event kinds a caller asks for: at least one, each known; duplicates dropped, in the order given. */
export function parseWebhookEvents(events: readonly string[]): string[] {
  if (events.length === 0) throw badInput('events', `events must name at least one of ${WEBHOOK_EVENT_KINDS.join(', ')}`);
  const unknown = events.find((kind) => !isWebhookEventKind(kind));
  if (unknown !== undefined) throw badInput('events', `${JSON.stringify(unknown.slice(0, 64))} is not an event kind: use ${WEBHOOK_EVENT_KINDS.join(', ')}`);
  return [...new Set(events)];
}

/** Deleting a webhook that is gone (or another account's) is NOT_FOUND; disabling a disabled or deleted one is a no-op. */
export function decideWebhookRegistry(command: WebhookRegistryCommand, state: WebhookRegistryState): WebhookRegistryEvent[] {
  switch (command.type) {
    case 'CreateWebhook': {
      const { webhookId, accountId, url, events, now, production } = command.data;
      const problem = webhookTargetProblem(url, { production });
      if (problem) throw badInput('url', problem);
      const kinds = parseWebhookEvents(events);
      if (state.has(webhookId)) throw new DomainError('CONFLICT', `a webhook with id ${webhookId} already exists`);
      const held = [...state.values()].filter((webhook) => webhook.accountId === accountId).length;
      if (held >= MAX_WEBHOOKS_PER_ACCOUNT) throw new DomainError('QUOTA_EXCEEDED', `an account may register at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks; delete one first`);
      return [{ type: 'WebhookCreated', data: { webhookId, accountId, url: new URL(url).href, events: kinds, occurredAt: now } }];
    }
    case 'DeleteWebhook': {
      const { webhookId, accountId, now } = command.data;
      if (state.get(webhookId)?.accountId !== accountId) throw notFound('webhook');
      return [{ type: 'WebhookDeleted', data: { webhookId, accountId, occurredAt: now } }];
    }
    case 'DisableWebhook': {
      const webhook = state.get(command.data.webhookId);
      if (!webhook?.enabled) return [];
      return [{ type: 'WebhookDisabled', data: { webhookId: webhook.id, accountId: webhook.accountId, reason: command.data.reason, occurredAt: command.data.now } }];
    }
    default:
      return assertNever(command);
  }
}

export const WEBHOOK_REGISTRY_STREAM = 'webhookRegistry';

export const webhookRegistryDecider: Decider<WebhookRegistryState, WebhookRegistryCommand, WebhookRegistryEvent> = {
  decide: decideWebhookRegistry,
  evolve: evolveWebhookRegistry,
  initialState: () => new Map(),
};

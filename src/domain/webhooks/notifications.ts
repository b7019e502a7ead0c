import { createHash } from 'node:crypto';
import type { Instant } from '../time';

export const WEBHOOK_EVENT_KINDS = ['KEY_EXPIRING', 'KEY_LEAK_REPORTED', 'KEY_DISABLED', 'KEY_DELETED', 'KEY_ROTATED', 'LIMIT_REACHED', 'KEY_UNUSED'] as const;
export type WebhookEventKind = (typeof WEBHOOK_EVENT_KINDS)[number];
export const isWebhookEventKind = (kind: string): kind is WebhookEventKind => (WEBHOOK_EVENT_KINDS as readonly string[]).includes(kind);

/** What an account is told: the kind, and the body's `data` (ids and facts, never a secret or its hash). */
export interface Notification {
  readonly kind: WebhookEventKind;
  readonly accountId: string;
  readonly occurredAt: Instant;
  readonly data: { readonly [field: string]: string | number | boolean | null };
}

type LoggedEvent = { readonly type: string; readonly data: { readonly [field: string]: unknown } };

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The notification a logged event stands for, or null: a key reported leaked, disabled, deleted or rotated; a timed notice (timedNotices.ts) or a limit reached (webhookOutbox.ts). */
export function notificationOf(event: LoggedEvent): Notification | null {
  const accountId = text(event.data['accountId']);
  const keyId = text(event.data['keyId']);
  const occurredAt = text(event.data['occurredAt']);
  if (accountId === null || keyId === null || occurredAt === null) return null;
  const notice = (kind: WebhookEventKind, more: Notification['data'] = {}): Notification => ({ kind, accountId, occurredAt, data: { keyId, ...more } });
  switch (event.type) {
    case 'ApiKeyLeakReported':
      return notice('KEY_LEAK_REPORTED', { maskedKey: text(event.data['maskedKey']), reportedSecret: text(event.data['reportedSecret']) });
    case 'ApiKeyStatusChanged':
      return event.data['status'] === 'DISABLED' ? notice('KEY_DISABLED', { reason: text(event.data['reason']) }) : null;
    case 'ApiKeyDeleted':
      return notice('KEY_DELETED');
    case 'ApiKeyRotated':
      return notice('KEY_ROTATED', { maskedKey: text(event.data['maskedKey']), previousSecretValidUntil: text(event.data['graceUntil']) });
    case 'KeyExpiringNoticed':
      return notice('KEY_EXPIRING', { expiresAt: text(event.data['expiresAt']) });
    case 'KeyLimitReachedNoticed':
      return notice('LIMIT_REACHED', { reason: text(event.data['reason']), windowEndsAt: text(event.data['windowEndsAt']) });
    case 'KeyUnusedNoticed':
      return notice('KEY_UNUSED', { lastUsedAt: text(event.data['lastUsedAt']), unusedDays: typeof event.data['unusedDays'] === 'number' ? event.data['unusedDays'] : null });
    default:
      return null;
  }
}

/** One delivery's id, the same however often it is scheduled: `webhook-id`, for receivers to de-duplicate on. */
export const deliveryIdOf = (sourceEventId: string, webhookId: string): string =>
  `msg_${createHash('sha256').update(`${sourceEventId}\u0000${webhookId}`).digest('base64url').slice(0, 32)}`;

/** The JSON body of a delivery (Standard Webhooks' shape: type, timestamp, data). */
export const deliveryBody = (notification: Notification): string =>
  JSON.stringify({ type: notification.kind, timestamp: notification.occurredAt, data: { accountId: notification.accountId, ...notification.data } });

export interface RetryPolicy {
  /** The first retry's delay; each later one doubles, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** After this long since the delivery was scheduled, a failed attempt is the last: FAILED. */
  readonly retryForMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 5_000, maxDelayMs: 3_600_000, retryForMs: 86_400_000 };

/**
 * When to try again after failed attempt number `attempt` (1 for the first), or null when the
 * retry window is over: exponential backoff with "equal jitter" (half the delay fixed, half
 * random), so receivers that failed together do not get their retries together.
 */
export function nextAttemptAt(policy: RetryPolicy, attempt: number, scheduledAtMs: number, nowMs: number, random: () => number): number | null {
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  const at = nowMs + delay / 2 + random() * (delay / 2);
  return at - scheduledAtMs > policy.retryForMs ? null : at;
}

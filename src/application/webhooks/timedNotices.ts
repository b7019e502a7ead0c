import { accountPolicyIn } from '../apiKeyQueries';
import type { WebhookEventKind } from '../../domain/webhooks/notifications';
import type { Logger } from '../../logger';
import type { Database } from '../../ports/collection';
import type { EventStore } from '../../ports/eventStore';
import type { ApiKeyDocument } from '../../readModel/documents';
import { COLLECTIONS } from '../../readModel/documents';
import { KEY_NOTICE_PREFIX, claimNotice } from './noticeClaim';

export { KEY_NOTICE_PREFIX };
/** The notice stream of a key's expiry instant or the start of its idleness. */
const noticeStream = (kind: 'EXPIRING' | 'UNUSED', keyId: string, anchor: Date): string => `${KEY_NOTICE_PREFIX}${kind}-${keyId}-${anchor.getTime()}`;

/** Without a policy setting: KEY_EXPIRING a week before expiry, KEY_UNUSED after 90 idle days. */
export const DEFAULT_EXPIRY_WARNING_DAYS = 7;
export const DEFAULT_UNUSED_AFTER_DAYS = 90;
/** Keys looked at per account and kind in one scan: the scan's cost is bounded; the rest come in the next. */
const KEYS_PER_SCAN = 1000;
const DAY_MS = 86_400_000;

/**
 * The timed notices (KEY_EXPIRING, KEY_UNUSED): a periodic scan of the keys of accounts that have
 * a webhook wanting them (expiry within the policy's `expiryWarningDays`, no use for
 * `unusedAfterDays`). Each notice is an event in a stream of its own, appended with NO_STREAM: the
 * event store's optimistic concurrency makes exactly one scan (of any instance, before or after a
 * restart) send it; the outbox delivers it like any other event.
 */
export class TimedNotices {
  private timer: NodeJS.Timeout | null = null;
  private readonly claimed = new Set<string>();
  private scanning: Promise<number> | null = null;

  constructor(
    private readonly store: EventStore,
    private readonly readModel: Database,
    private readonly accountsWanting: (kind: WebhookEventKind) => ReadonlySet<string>,
    private readonly clock: () => Date,
    private readonly logger: Logger,
    private readonly intervalMs = 60_000,
  ) {}

  start(): void {
    const run = () => {
      void this.scan()
        .catch((error: unknown) => this.logger.error({ err: error }, 'timed notices scan failed; retried at the next'))
        .finally(() => {
          if (this.timer) this.timer = setTimeout(run, this.intervalMs).unref();
        });
    };
    this.timer = setTimeout(run, this.intervalMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.scanning?.catch(() => undefined);
  }

  /** One scan; resolves with how many notices this scan sent (claimed). */
  scan(): Promise<number> {
    this.scanning ??= this.scanOnce().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async scanOnce(): Promise<number> {
    const now = this.clock();
    const keys = this.readModel.collection<ApiKeyDocument>(COLLECTIONS.apiKeys);
    let sent = 0;
    for (const accountId of this.accountsWanting('KEY_EXPIRING')) {
      const days = (await accountPolicyIn(this.store, accountId)).expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS;
      const expiring = await keys.find({ accountId, deletedAt: null, expiresAt: { $gt: now, $lte: new Date(now.getTime() + days * DAY_MS) } }, { limit: KEYS_PER_SCAN }).toArray();
      for (const key of expiring) {
        const expiresAt = key.expiresAt as Date;
        if (await this.claim(noticeStream('EXPIRING', key._id, expiresAt), 'KeyExpiringNoticed', { keyId: key._id, accountId, expiresAt: expiresAt.toISOString(), occurredAt: now.toISOString() })) sent += 1;
      }
    }
    for (const accountId of this.accountsWanting('KEY_UNUSED')) {
      const days = (await accountPolicyIn(this.store, accountId)).unusedAfterDays ?? DEFAULT_UNUSED_AFTER_DAYS;
      const cutoff = new Date(now.getTime() - days * DAY_MS);
      const idle = await keys.find({ accountId, deletedAt: null, $or: [{ lastUsedAt: { $lte: cutoff } }, { lastUsedAt: null, createdAt: { $lte: cutoff } }] }, { limit: KEYS_PER_SCAN }).toArray();
      for (const key of idle) {
        const idleSince = key.lastUsedAt ?? key.createdAt;
        const data = { keyId: key._id, accountId, lastUsedAt: key.lastUsedAt?.toISOString() ?? null, unusedDays: Math.floor((now.getTime() - idleSince.getTime()) / DAY_MS), occurredAt: now.toISOString() };
        if (await this.claim(noticeStream('UNUSED', key._id, idleSince), 'KeyUnusedNoticed', data)) sent += 1;
      }
    }
    return sent;
  }

  /** Appends the notice if nobody has: true when this call did. */
  private async claim(streamName: string, type: string, data: { [field: string]: string | number | null }): Promise<boolean> {
    if (this.claimed.has(streamName)) return false;
    const claimed = await claimNotice(this.store, streamName, type, data, 'keyhub:timed-notices');
    this.claimed.add(streamName); // either way: another scan (another instance, or before a restart) may have sent it
    return claimed;
  }
}

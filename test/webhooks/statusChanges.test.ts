import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { WebhookDeliveryLog } from '../../src/application/webhooks/webhookDeliveryLog';
import { createLogger } from '../../src/logger';
import { until } from '../support/apiHelpers';
import { caller, startCore } from './core';

describe("Webhook status changes for the accounts' live feeds", () => {
  it('tells each webhook disabled after the instance started following the log, not those disabled before', async () => {
    const store = new SqliteEventStore(':memory:');
    const core = await startCore(store, { nowMs: Date.now() });
    const log = new WebhookDeliveryLog(store, createLogger('silent'));
    try {
      const { webhook: before } = await core.services.webhooks.create(caller, 'http://127.0.0.1:9/before', ['KEY_DISABLED']);
      const { webhook: after } = await core.services.webhooks.create(caller, 'http://127.0.0.1:9/after', ['KEY_DISABLED']);
      await core.services.webhooks.disable(before.id, 'failed before');

      const told: Array<{ webhookId: string; accountId: string; enabled: boolean; reason: string }> = [];
      log.onStatusChange(({ webhookId, accountId, enabled, reason }) => told.push({ webhookId, accountId, enabled, reason }));
      log.start();
      await until(async () => log.webhook(before.id)?.enabled === false); // the history is folded

      await core.services.webhooks.disable(after.id, 'failed after');
      await until(async () => told.length > 0);
      expect(told).toEqual([{ webhookId: after.id, accountId: caller.accountId, enabled: false, reason: 'failed after' }]);
    } finally {
      await log.stop();
      await core.stop();
      await store.dispose();
    }
  });
});

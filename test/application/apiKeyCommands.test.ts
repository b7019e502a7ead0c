import { randomBytes, randomUUID } from 'node:crypto';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Caller } from '../../src/application/caller';
import { composeKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import { DomainError } from '../../src/domain/errors';
import { createLogger } from '../../src/logger';

/** The write side as the service composes it, on the embedded store in memory, with the clock and ids in the test's hand. */
async function writeSide(options: { ids?: () => string } = {}) {
  const store = new SqliteEventStore(':memory:');
  let nowMs = Date.parse('2026-11-25T08:00:00.000Z');
  const core = composeKeyhub({ store, readModel: new InProcessDatabase() }, loadConfig({ KEY_LIMIT_DEFAULT: '3' }), createLogger('silent'), {
    clock: () => new Date(nowMs),
    newId: options.ids ?? randomUUID,
    randomBytes,
  });
  await core.runner.start();
  await core.runner.caughtUp;
  return {
    ...core.services,
    advance: (ms: number) => (nowMs += ms),
    stop: async () => {
      await core.runner.stop();
      await store.dispose();
    },
  };
}

const caller = (accountId = `acct-${randomUUID()}`): Caller => ({ sub: 'alice', accountId, roles: [], requestId: randomUUID() });
const codeOf = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: unknown) => (error instanceof DomainError ? error.code : String(error)));

describe('ApiKeyCommands (as composed by the service)', () => {
  describe('when a key is created', () => {
    it('should return it, and the same instance should read it at once (read-your-writes)', async () => {
      const service = await writeSide();
      const alice = caller();
      const { apiKey, secret } = await service.commands.create(alice, { name: 'prod backend', acceptTerms: true });
      expect(await service.queries.get(alice, apiKey.id)).toEqual(apiKey);
      expect((await service.verifier.verify(secret, {})).valid).toBe(true);
      expect(await service.queries.quota(alice)).toEqual({ limit: 3, used: 1 });
      await service.stop();
    });

    it("should refuse an id that is already taken with CONFLICT (decide's guard), and hold no second slot", async () => {
      const service = await writeSide({ ids: () => 'key-reused' });
      const alice = caller();
      await service.commands.create(alice, { name: 'first', acceptTerms: true });
      expect(await codeOf(service.commands.create(alice, { name: 'second', acceptTerms: true }))).toBe('CONFLICT');
      expect((await service.queries.get(alice, 'key-reused'))?.name).toBe('first');
      expect(await service.queries.quota(alice)).toEqual({ limit: 3, used: 1 });
      await service.stop();
    });
  });

  describe('when a leak is reported', () => {
    it('should find the key by its secret through the key index and disable it, for whoever reports it', async () => {
      const service = await writeSide();
      const alice = caller();
      const { apiKey, secret } = await service.commands.create(alice, { name: 'prod backend', acceptTerms: true });
      service.advance(1000);
      await service.commands.reportLeak(secret, 'anonymous-request');
      expect((await service.queries.get(alice, apiKey.id))?.status).toBe('DISABLED');
      expect((await service.queries.history(alice, apiKey.id)).map((event) => [event.type, event.actor])).toEqual([
        ['ApiKeyCreated', 'alice'],
        ['ApiKeyLeakReported', 'anonymous:leak-report'],
        ['ApiKeyStatusChanged', 'anonymous:leak-report'],
      ]);
      await service.stop();
    });
  });

  describe("when an admin sets an account's key limit", () => {
    it('should be read back from the query side at once', async () => {
      const service = await writeSide();
      const admin = caller('acct-admin');
      await service.commands.setAccountKeyLimit(admin, 'acct-limited', 1);
      expect(await service.queries.quotaOf('acct-limited')).toEqual({ limit: 1, used: 0 });
      await service.stop();
    });
  });
});

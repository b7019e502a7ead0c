import { randomBytes, randomUUID } from 'node:crypto';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import type { Caller } from '../../src/application/caller';
import type { KeyhubCore } from '../../src/compositionRoot';
import { composeKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import type { EventStore } from '../../src/ports/eventStore';

export const caller: Caller = { sub: 'owner', accountId: 'acct-hooks', roles: [], requestId: 'req-1' };

/** The service without transports on `store`, on a clock the test moves. */
export async function startCore(store: EventStore, clock: { nowMs: number }, env: Record<string, string> = {}): Promise<KeyhubCore & { stop(): Promise<void> }> {
  const config = loadConfig({ JWT_SECRET: 'a-test-jwt-secret-of-at-least-32-characters', ...env });
  const core = composeKeyhub({ store, readModel: new InProcessDatabase() }, config, createLogger('silent'), { clock: () => new Date(clock.nowMs), newId: randomUUID, randomBytes });
  await core.runner.start();
  await core.runner.caughtUp;
  core.webhooks.start();
  return { ...core, stop: async () => (await core.webhooks.stop(), await core.runner.stop()) };
}

export const newKey = async (core: KeyhubCore, name: string) => (await core.services.commands.create(caller, { name, acceptTerms: true })).apiKey.id;


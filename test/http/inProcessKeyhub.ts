import pino from 'pino';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import type { Keyhub } from '../../src/compositionRoot';
import { startKeyhub } from '../../src/compositionRoot';
import { loadConfig } from '../../src/config';
import type { Logger } from '../../src/logger';
import { inProcessEngines } from '../adapters/serviceHarness';
import { TEST_JWT_SECRET } from '../support/keyhubProcess';

/** keyhub in this process on an in-memory log and read model, configured like `npm start` with `env` on top. */
export async function startInProcessKeyhub(env: Record<string, string> = {}, logger: Logger = pino({ level: 'silent' })): Promise<Keyhub & { baseUrl: string; wsUrl: string }> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: '/nonexistent-never-written', LOG_LEVEL: 'silent', ...env });
  const keyhub = await startKeyhub(config, logger, inProcessEngines(new SqliteEventStore(':memory:')));
  return { ...keyhub, baseUrl: keyhub.url.replace(/\/graphql$/, ''), wsUrl: keyhub.url.replace(/^http/, 'ws') };
}

import { createServer } from 'node:net';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import type { EventStore } from '../../src/ports/eventStore';
import type { Engines } from '../../src/engines';
import { loadConfig } from '../../src/config';
import { TEST_JWT_SECRET } from '../support/keyhubProcess';

/** The service's configuration for tests that start it in process with their own engines (DATA_DIR is never written). */
export const inProcessConfig = loadConfig({ PORT: '0', HOST: '127.0.0.1', JWT_SECRET: TEST_JWT_SECRET, DATA_DIR: '/nonexistent-never-written', LOG_LEVEL: 'silent' });

/** A port nothing listens on: bound, then released (a server that is down). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Engines for a service started in process on a given log (e.g. an in-memory SQLite one) and a fresh in-process read model; closing them disposes `closes`. */
export const inProcessEngines =
  (store: EventStore, closes: { dispose(): Promise<void> } = store) =>
  async (): Promise<Engines> => ({
    store,
    readModel: new InProcessDatabase(),
    names: { eventStore: 'in-process test log', readModel: 'in-process' },
    external: false,
    probe: async () => undefined,
    close: () => closes.dispose(),
  });

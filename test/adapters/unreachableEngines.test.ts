import type { Server, Socket } from 'node:net';
import { createServer } from 'node:net';
import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import { MongoReadModel } from '../../src/adapters/mongodb/mongoReadModel';
import { ReadModelUnavailableError } from '../../src/ports/collection';
import { EventStoreUnavailableError, NO_STREAM, jsonEvent } from '../../src/ports/eventStore';
import { formatError } from '../../src/graphql/errors';
import { GraphQLError } from 'graphql';
import { closedPort } from './serviceHarness';


/** A server that accepts connections and never answers: the case no client deadline covers. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => (sockets.add(socket), socket.on('close', () => sockets.delete(socket))));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('Engines that cannot be reached, with the real clients and no server', () => {
  it('EventStoreDB refused: appends, reads and the probe fail with the retryable EventStoreUnavailableError', async () => {
    const store = EventStoreDbStore.connect(`esdb://127.0.0.1:${await closedPort()}?tls=false`);
    try {
      await expect(store.appendToStream('apiKey-k1', jsonEvent({ type: 'T', data: {} }), { expectedRevision: NO_STREAM })).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect((async () => {
        for await (const _resolved of store.readStream('apiKey-k1')) return;
      })()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      await expect(store.probe(2000)).rejects.toBeInstanceOf(EventStoreUnavailableError);
    } finally {
      await store.dispose();
    }
  });

  it('EventStoreDB silent: the probe gives up after its own deadline instead of hanging', async () => {
    const server = await silentServer();
    const store = EventStoreDbStore.connect(`esdb://127.0.0.1:${server.port}?tls=false`);
    const started = Date.now();
    try {
      const error = await store.probe(500).then(() => null, (thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(EventStoreUnavailableError);
      expect((error as Error).message).toMatch(/did not answer .*within 500 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await Promise.race([store.dispose(), new Promise((resolve) => setTimeout(resolve, 1000))]);
      await server.close();
    }
  });

  it('MongoDB refused: the probe and queries fail fast with ReadModelUnavailableError, again on every retry', async () => {
    const readModel = MongoReadModel.connect(`mongodb://127.0.0.1:${await closedPort()}/?directConnection=true`, 'keyhub_unreachable', { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 });
    try {
      for (let attempt = 0; attempt < 2; attempt += 1) await expect(readModel.probe()).rejects.toBeInstanceOf(ReadModelUnavailableError);
      await expect(readModel.collection('apiKeys').findOne({ _id: 'k1' })).rejects.toBeInstanceOf(ReadModelUnavailableError);
    } finally {
      await readModel.close();
    }
  });


  it.each([
    ['the event store', new EventStoreUnavailableError('EventStoreDB is unavailable: 14 UNAVAILABLE at 10.0.0.7:2113')],
    ['the read model', new ReadModelUnavailableError('MongoDB is unavailable: connect ECONNREFUSED 10.0.0.7:27017')],
  ])('tells a GraphQL client that %s is unavailable with the retryable SERVICE_UNAVAILABLE, without internals', (engine, error) => {
    const original = new GraphQLError('wrapped', { originalError: error, path: ['createApiKey'] });
    const formatted = formatError({ message: 'wrapped', path: ['createApiKey'] }, original);
    expect(formatted).toEqual({ message: `${engine} is unavailable; retry shortly`, path: ['createApiKey'], extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(JSON.stringify(formatted)).not.toContain('10.0.0.7');
  });
});

import { EventStoreDbStore } from '../../src/adapters/eventstoredb/eventStoreDbStore';
import { SqliteEventStore } from '../../src/adapters/sqlite/sqliteEventStore';
import { eventStoreContract, whenServerConfigured } from './eventStore.contract';

eventStoreContract('SqliteEventStore', async () => {
  const store = new SqliteEventStore(':memory:');
  return { store, close: () => store.dispose() };
});

whenServerConfigured('EVENTSTORE_URL', 'EventStoreDB', (url) =>
  eventStoreContract(`EventStoreDbStore (${url})`, async () => {
    const store = EventStoreDbStore.connect(url);
    await store.probe(5000);
    return { store, close: () => store.dispose() };
  }),
);

import { randomUUID } from 'node:crypto';
import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { MongoReadModel } from '../../src/adapters/mongodb/mongoReadModel';
import { collectionContract } from './collection.contract';
import { whenServerConfigured } from './eventStore.contract';

collectionContract('InProcessDatabase', async () => ({ database: new InProcessDatabase(), close: async () => undefined }));

whenServerConfigured('MONGODB_URL', 'MongoDB', (url) =>
  collectionContract(`MongoReadModel (${url})`, async () => {
    // A database of its own per run, dropped afterwards: the suite never touches keyhub's data.
    const database = MongoReadModel.connect(url, `keyhub_contract_${randomUUID().slice(0, 8)}`);
    await database.probe();
    return {
      database,
      close: async () => {
        await database.dropDatabase();
        await database.close();
      },
    };
  }),
);

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { printKeyhubSchema } from '../../src/graphql/printSchema';

describe('schema.graphql', () => {
  it('is the schema the code emits (run `npm run schema` after changing types or resolvers)', async () => {
    const committed = readFileSync(join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(await printKeyhubSchema());
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freshDataDir } from '../support/keyhubProcess';
import { newGateway, newOwner } from '../support/apiHelpers';
import { gql } from '../support/graphqlClient';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';

const SCOPE_CATALOG = '{ scopeCatalog { models services } }';

describe('The scope catalog (the console\'s picker)', () => {
  let api: KeyhubSpecification;
  beforeAll(async () => {
    const file = join(freshDataDir(), 'catalog.json');
    writeFileSync(file, JSON.stringify({ models: ['qwen-max', 'qwen-plus', 'qwen-max'], services: ['chat', 'embeddings'] }));
    api = await startApiSpecification({ env: { SCOPE_CATALOG_FILE: file } });
  });
  afterAll(() => api.stop());

  it('answers the operator\'s models and services, de-duplicated, to any login', async () => {
    const expected = { models: ['qwen-max', 'qwen-plus'], services: ['chat', 'embeddings'] };
    expect((await (await newOwner(api.url)).call(SCOPE_CATALOG)).scopeCatalog).toEqual(expected);
    expect((await (await newGateway(api.url)).call(SCOPE_CATALOG)).scopeCatalog).toEqual(expected);
  });

  it('is refused without a login', async () => {
    expect((await gql(api.url, null, SCOPE_CATALOG)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('Without SCOPE_CATALOG_FILE', () => {
  it('answers an empty catalog', async () => {
    const api = await startApiSpecification();
    try {
      expect((await (await newOwner(api.url)).call(SCOPE_CATALOG)).scopeCatalog).toEqual({ models: [], services: [] });
    } finally {
      await api.stop();
    }
  });
});

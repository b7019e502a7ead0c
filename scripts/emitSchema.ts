import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printKeyhubSchema } from '../src/graphql/printSchema';

/** Writes schema.graphql from the type-graphql code (`npm run schema`); a test fails when the committed file is stale. */
async function main(): Promise<void> {
  const file = join(__dirname, '..', '..', 'schema.graphql');
  writeFileSync(file, await printKeyhubSchema());
  console.log(`wrote ${file}`);
}

void main();

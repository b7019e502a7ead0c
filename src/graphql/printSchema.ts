import { lexicographicSortSchema, printSchema } from 'graphql';
import { buildKeyhubSchema } from './schema';

const HEADER = '# Emitted from the type-graphql code by `npm run schema`. Do not edit by hand.\n\n';

export const printKeyhubSchema = async (): Promise<string> => HEADER + printSchema(lexicographicSortSchema(await buildKeyhubSchema())) + '\n';

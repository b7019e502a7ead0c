import { Field, ObjectType } from 'type-graphql';

@ObjectType('ScopeCatalog', { description: 'The models and services this platform offers, for the console\'s scope picker (configured by the operator).' })
export class ScopeCatalogObject {
  @Field(() => [String])
  models!: string[];

  @Field(() => [String])
  services!: string[];
}

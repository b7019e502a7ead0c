import { Field, ID, Int, ObjectType } from 'type-graphql';
import { DateTimeScalar, JSONScalar } from '../scalars';
import { KeyState, StatusReason } from './enums';

/** The GraphQL ApiKeyEvent (the domain's ApiKeyEvent is the event union it shows). */
@ObjectType('ApiKeyEvent', { description: "One entry of a key's history, oldest first. Never contains the secret." })
export class ApiKeyEventObject {
  @Field(() => ID, { description: 'Unique id of the event.' })
  id!: string;

  @Field(() => ID)
  keyId!: string;

  @Field(() => String, { description: 'ApiKeyCreated, ApiKeyRenamed, ApiKeyStatusChanged, ApiKeyScopeUpdated, ApiKeyDeleted, ... (more types may be added).' })
  type!: string;

  @Field(() => Int, { description: "The key's version after this event." })
  version!: number;

  @Field(() => DateTimeScalar)
  occurredAt!: Date;

  @Field(() => String, { description: 'The sub of the caller that caused it.' })
  actor!: string;

  @Field(() => JSONScalar)
  data!: unknown;

  @Field(() => String, {
    nullable: true,
    description:
      "The event's hash chain link over the previous event's link and this event's canonical JSON (RFC 8785) of type, data and actor: SHA-256 (64 hex digits), or with AUDIT_HMAC_KEY set, hmac-sha256:<key id>:<HMAC-SHA256>. verifyHistory recomputes the chain.",
  })
  chainLink!: string | null;
}

@ObjectType()
export class KeyStatusChange {
  @Field(() => ID)
  keyId!: string;

  @Field(() => ID)
  accountId!: string;

  @Field(() => KeyState, { description: 'A newly created key reports ENABLED.' })
  status!: KeyState;

  @Field(() => StatusReason, { nullable: true, description: 'For enable and disable: OWNER, or LEAKED when a leak report disabled the key. Null for creation and deletion.' })
  reason!: StatusReason | null;

  @Field(() => DateTimeScalar)
  occurredAt!: Date;

  @Field(() => Int)
  version!: number;
}

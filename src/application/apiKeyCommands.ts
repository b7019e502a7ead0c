import type { AccountCommand, AccountEvent, AccountState } from '../domain/account/account';
import { decideAccount, evolveAccount, initialAccountState } from '../domain/account/account';
import type { ApiKeyCommand, CreateApiKey } from '../domain/apiKey/commands';
import { decide } from '../domain/apiKey/decide';
import type { ApiKeyEvent, KeyStatus } from '../domain/apiKey/events';
import type { ApiKeyState } from '../domain/apiKey/state';
import { evolve, initialState } from '../domain/apiKey/state';
import { DomainError, badInput, notFound } from '../domain/errors';
import type { AccessScopeInput } from '../domain/rules/scope';
import { SECRET_RANDOM_BYTES, fingerprintOf, isWellFormedSecret, secretFromRandomBytes } from '../domain/secret';
import type { Instant } from '../domain/time';
import { toInstant } from '../domain/time';
import type { ApiKeyDocument, KeyIndexDocument } from '../../projections/readModel';
import { COLLECTIONS } from '../../projections/readModel';
import type { Caller } from './caller';
import { LEAK_REPORTER } from './caller';
import type { Decider } from './commandHandler';
import type { HandledCommand } from './commandHandler';
import { AppendOutcomeUnknownError, aggregateStream, appendSafely, handleCommand } from './commandHandler';
import type { Idempotency } from './idempotency';
import { idempotencyOf, isWrittenBy, keyIdFor } from './idempotency';
import type { Database } from './ports/collection';
import type { EventStore, Position, RecordedEvent } from './ports/eventStore';
import { NO_STREAM, StreamNotFoundError, WrongExpectedVersionError } from './ports/eventStore';
import type { EventMetadata, IdempotentEventMetadata } from './streams';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream, toChainedEventData } from './streams';
import type { ApiKeyView, QuotaView } from './views';
import { viewFromSnapshot } from './views';
import type { ApiKeyQueries } from './apiKeyQueries';

export const apiKeyDecider: Decider<ApiKeyState, ApiKeyCommand, ApiKeyEvent> = { decide, evolve, initialState };
export const accountDecider: Decider<AccountState, AccountCommand, AccountEvent> = {
  decide: decideAccount,
  evolve: evolveAccount,
  initialState: initialAccountState,
};

/** What the command side needs from outside: clock, ids and randomness are injected so tests control them. */
export interface CommandDependencies {
  store: EventStore;
  readModel: Database;
  /** Read-your-writes: resolves when the read model reflects a position. */
  projection: { waitFor(position: Position): Promise<boolean> };
  queries: ApiKeyQueries;
  clock: () => Date;
  newId: () => string;
  randomBytes: (size: number) => Buffer;
  defaultRegion: string;
  defaultKeyLimit: number;
}

export interface CreateApiKeyInput {
  name: string;
  description?: string | null;
  region?: string | null;
  scope?: AccessScopeInput | null;
  ipAllowlist?: readonly string[] | null;
  expiresAt?: Date | null;
  acceptTerms: boolean;
}

// Concurrent writers on one stream contend; each conflict re-reads and re-decides (with jittered backoff).
const ACCOUNT_RETRIES = 50;
const KEY_RETRIES = 25;
const withoutClock = ({ now: _now, ...request }: { now: Instant } & Record<string, unknown>) => request;

/** A keyed create or rotate retried after it succeeded: its secret was shown once and cannot be shown again. */
const alreadyIssued = (keyId: string, what: 'created' | 'rotated'): DomainError =>
  new DomainError(
    'CONFLICT',
    `this Idempotency-Key's request already ${what} key ${keyId}; its secret was returned once, in that response, and is not stored. If that response was lost, rotate the key (with a new Idempotency-Key)`,
    'Idempotency-Key',
    { keyId },
  );

// A slot whose key stream never appeared (a crash between the two appends) is reclaimed after this.
const ORPHANED_SLOT_MS = 60_000;

/**
 * The write side: each method turns a caller's request into a domain command, runs it through
 * the command handler, waits until the read model reflects the new events (so the same
 * instance's next read or verification sees them), and returns the key as it now stands.
 */
export class ApiKeyCommands {
  constructor(private readonly deps: CommandDependencies) {}

  async create(caller: Caller, input: CreateApiKeyInput): Promise<{ apiKey: ApiKeyView; secret: string }> {
    const { deps } = this;
    const idempotency = this.idempotency(caller, 'CreateApiKey', input);
    // With an Idempotency-Key the key id comes from it, so a retry finds what the first attempt wrote.
    const keyId = idempotency ? await this.keyIdForRetry(idempotency) : deps.newId();
    const secret = secretFromRandomBytes(deps.randomBytes(SECRET_RANDOM_BYTES));
    const command: CreateApiKey = {
      type: 'CreateApiKey',
      data: {
        ...this.target(caller, keyId),
        name: input.name,
        description: input.description ?? null,
        region: input.region ?? deps.defaultRegion,
        scope: input.scope ?? null,
        ipAllowlist: input.ipAllowlist ?? null,
        expiresAt: input.expiresAt ? toInstant(input.expiresAt) : null,
        acceptTerms: input.acceptTerms,
        fingerprint: fingerprintOf(secret),
      },
    };
    // Decide first: bad input must not take a slot.
    const events = decide(command, initialState());
    await this.reserveSlot(caller, command.data.keyId, command.data.now);
    const keyStream = apiKeyStream(command.data.keyId);
    let position: Position | undefined;
    try {
      position = (await appendSafely(deps.store, keyStream, toChainedEventData(events, this.metadata(caller, idempotency), null), NO_STREAM)).position;
    } catch (error) {
      // A concurrent attempt of the same keyed request created the key: answer as its retry (the slot is its).
      if (idempotency && error instanceof WrongExpectedVersionError) await this.keyIdForRetry(idempotency);
      // Only a key known not to be written gives its slot back; one that may exist keeps it (the sweep reclaims it if not).
      if (!(error instanceof AppendOutcomeUnknownError)) await this.releaseSlot(caller, command.data.keyId).catch(() => undefined);
      throw error;
    }
    await this.settle(position ?? null);
    const state = events.reduce(evolve, initialState());
    if (state.status !== 'ACTIVE') throw new Error('a created key must be active');
    return { apiKey: viewFromSnapshot(state.key, null), secret };
  }

  /**
   * The key id a keyed create uses. When the first attempt of the same request created that key
   * (within the window), the retry is refused with CONFLICT naming the key: its secret was shown
   * once and is not stored, so it cannot be shown again (rotate the key if that answer was lost).
   * After the window, or for a key the derived id does not belong to, a fresh id.
   */
  private async keyIdForRetry(idempotency: Idempotency): Promise<string> {
    const keyId = keyIdFor(idempotency);
    let first: RecordedEvent | undefined;
    try {
      for await (const resolved of this.deps.store.readStream(apiKeyStream(keyId), { maxCount: 1 })) first = resolved.event;
    } catch (error) {
      if (!(error instanceof StreamNotFoundError)) throw error;
    }
    if (!first) return keyId;
    if (isWrittenBy(first, idempotency)) throw alreadyIssued(keyId, 'created');
    return this.deps.newId();
  }
  rename(caller: Caller, id: string, name: string, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'RenameApiKey', data: { ...this.target(caller, id, expectedVersion), name } });
  }

  updateDescription(caller: Caller, id: string, description: string | null | undefined, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'UpdateDescription', data: { ...this.target(caller, id, expectedVersion), description } });
  }

  setStatus(caller: Caller, id: string, status: KeyStatus, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'SetKeyStatus', data: { ...this.target(caller, id, expectedVersion), status } });
  }

  updateScope(caller: Caller, id: string, scope: AccessScopeInput, ipAllowlist: readonly string[] | null | undefined, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'UpdateScope', data: { ...this.target(caller, id, expectedVersion), scope, ipAllowlist } });
  }

  /**
   * Gives the key a new secret, returned here once. The old one keeps verifying until the grace
   * period ends (at once for 0).
   */
  async rotate(caller: Caller, id: string, gracePeriodSeconds: number, expectedVersion?: number | null): Promise<{ apiKey: ApiKeyView; secret: string; previousSecretValidUntil: Date }> {
    const secret = secretFromRandomBytes(this.deps.randomBytes(SECRET_RANDOM_BYTES));
    const command: ApiKeyCommand = {
      type: 'RotateApiKey',
      data: { ...this.target(caller, id, expectedVersion), gracePeriodSeconds, fingerprint: fingerprintOf(secret) },
    };
    const result = await this.run(caller, command, { id, gracePeriodSeconds, expectedVersion: expectedVersion ?? null });
    if (result.replayed) throw alreadyIssued(id, 'rotated');
    const apiKey = await this.viewAfter(command, result);
    return { apiKey, secret, previousSecretValidUntil: new Date(apiKey.updatedAt.getTime() + gracePeriodSeconds * 1000) };
  }

  /** Sets, moves (to a future instant) or, with null, clears the key's expiry. */
  updateExpiry(caller: Caller, id: string, expiresAt: Date | null | undefined, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'UpdateExpiry', data: { ...this.target(caller, id, expectedVersion), expiresAt: expiresAt ? toInstant(expiresAt) : null } });
  }

  /**
   * A secret reported leaked, by anyone who holds it: the key whose live secret it is gets
   * disabled with reason LEAKED. Resolves the same way whether or not such a key exists; only
   * text that is not one of our secrets at all (the checksum tells) is refused.
   */
  async reportLeak(secret: string, requestId: string): Promise<void> {
    if (!isWellFormedSecret(secret)) throw badInput('secret', 'secret is not a keyhub secret (sk- followed by 49 letters and digits with a valid checksum)');
    const reported = fingerprintOf(secret);
    const entry = await this.deps.readModel.collection<KeyIndexDocument>(COLLECTIONS.keyIndex).findOne({ _id: reported.secretHash });
    if (!entry || entry.deleted) return;
    const reporter: Caller = { sub: LEAK_REPORTER, accountId: entry.accountId, roles: [], requestId };
    const result = await this.run(reporter, { type: 'ReportLeakedKey', data: { ...this.target(reporter, entry.keyId), reported } });
    await this.settle(result.position);
  }

  async delete(caller: Caller, id: string, expectedVersion?: number | null): Promise<{ id: string; deletedAt: Date }> {
    const result = await this.run(caller, { type: 'DeleteApiKey', data: this.target(caller, id, expectedVersion) });
    if (result.state.status !== 'DELETED') throw notFound();
    const released = await this.releaseSlot(caller, id);
    await this.settle(released ?? result.position);
    return { id, deletedAt: new Date(result.state.deletedAt) };
  }

  async setAccountKeyLimit(caller: Caller, accountId: string, limit: number): Promise<QuotaView> {
    const now = toInstant(this.deps.clock());
    const result = await handleCommand(this.deps.store, accountStream(accountId), accountDecider, { type: 'SetAccountKeyLimit', data: { accountId, limit, now } }, {
      metadata: this.metadata(caller),
      retriesOnConflict: ACCOUNT_RETRIES,
    });
    await this.settle(result.position);
    return this.deps.queries.quotaOf(accountId);
  }

  private async change(caller: Caller, command: ApiKeyCommand): Promise<ApiKeyView> {
    return this.viewAfter(command, await this.run(caller, command));
  }

  /** The key after a command (or, for a replayed keyed request, as it stands), once the read model reflects it. */
  private async viewAfter(command: ApiKeyCommand, result: HandledCommand<ApiKeyState, ApiKeyEvent>): Promise<ApiKeyView> {
    await this.settle(result.position);
    if (result.state.status !== 'ACTIVE') throw notFound();
    const document = await this.deps.readModel.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: command.data.keyId }, { projection: { lastUsedAt: 1 } });
    return viewFromSnapshot(result.state.key, document?.lastUsedAt ?? null);
  }

  /** `request`: what identifies the request for its Idempotency-Key (the arguments, not the clock or a new secret). */
  private run(caller: Caller, command: ApiKeyCommand, request: unknown = withoutClock(command.data)) {
    const idempotency = this.idempotency(caller, command.type, request);
    return handleCommand(this.deps.store, apiKeyStream(command.data.keyId), apiKeyDecider, command, {
      metadata: this.metadata(caller, idempotency),
      // With an expectedVersion a concurrent change is the caller's CONFLICT; without one, decide again on fresh state.
      retriesOnConflict: command.data.expectedVersion == null ? KEY_RETRIES : 0,
      ...(idempotency ? { idempotency } : {}),
    });
  }

  private idempotency(caller: Caller, operation: string, request: unknown): Idempotency | undefined {
    return caller.idempotencyKey ? idempotencyOf(caller.accountId, caller.idempotencyKey, operation, request, this.deps.clock()) : undefined;
  }

  private async reserveSlot(caller: Caller, keyId: string, now: Instant): Promise<void> {
    const reserve = () =>
      handleCommand(
        this.deps.store,
        accountStream(caller.accountId),
        accountDecider,
        { type: 'ReserveKeySlot', data: { accountId: caller.accountId, keyId, now, defaultLimit: this.deps.defaultKeyLimit } },
        { metadata: this.metadata(caller), retriesOnConflict: ACCOUNT_RETRIES },
      );
    try {
      await reserve();
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'QUOTA_EXCEEDED')) throw error;
      if ((await this.reclaimStaleSlots(caller)) === 0) throw error;
      await reserve();
    }
  }

  private async releaseSlot(caller: Caller, keyId: string): Promise<Position | null> {
    const now = toInstant(this.deps.clock());
    const result = await handleCommand(this.deps.store, accountStream(caller.accountId), accountDecider, { type: 'ReleaseKeySlot', data: { accountId: caller.accountId, keyId, now } }, {
      metadata: this.metadata(caller),
      retriesOnConflict: ACCOUNT_RETRIES,
    });
    return result.position;
  }

  /**
   * A key's create and delete each write two streams, which no store writes atomically. A crash
   * between the two can leave a slot held by a key that was deleted, or that never got created.
   * Such slots can only make the limit stricter, never looser; this reclaims them when the limit is hit.
   */
  private async reclaimStaleSlots(caller: Caller): Promise<number> {
    const { state } = await aggregateStream(this.deps.store, accountStream(caller.accountId), accountDecider);
    const now = this.deps.clock().getTime();
    let reclaimed = 0;
    for (const [keyId, reservedAt] of state.slots) {
      const key = await aggregateStream(this.deps.store, apiKeyStream(keyId), apiKeyDecider);
      const stale = key.state.status === 'DELETED' || (key.state.status === 'NONE' && now - Date.parse(reservedAt) > ORPHANED_SLOT_MS);
      if (stale && (await this.releaseSlot(caller, keyId)) !== null) reclaimed += 1;
    }
    return reclaimed;
  }

  private async settle(position: Position | null): Promise<void> {
    if (position) await this.deps.projection.waitFor(position);
  }

  private target(caller: Caller, keyId: string, expectedVersion?: number | null) {
    return { keyId, accountId: caller.accountId, now: toInstant(this.deps.clock()), expectedVersion: expectedVersion ?? null };
  }

  private metadata(caller: Caller, idempotency?: Idempotency): EventMetadata {
    const metadata: EventMetadata = { actor: caller.sub, correlationId: caller.requestId, causationId: caller.requestId, schemaVersion: EVENT_SCHEMA_VERSION };
    return idempotency ? ({ ...metadata, idempotencyKey: idempotency.key, requestHash: idempotency.requestHash } satisfies IdempotentEventMetadata) : metadata;
  }
}

import type { AccountCommand } from '../domain/account/account';
import { accountDecider } from '../domain/account/account';
import type { AccountPolicy } from '../domain/account/policy';
import type { ApiKeyCommand, CreateApiKey } from '../domain/apiKey/commands';
import { apiKeyDecider } from '../domain/apiKey/decider';
import type { KeyStatus } from '../domain/apiKey/events';
import { DomainError, badInput, notFound } from '../domain/errors';
import type { KeyLimitsInput } from '../domain/rules/limits';
import type { AccessScopeInput } from '../domain/rules/scope';
import { SECRET_RANDOM_BYTES, fingerprintOf, isWellFormedSecret, secretFromRandomBytes } from '../domain/secret';
import { toInstant } from '../domain/time';
import type { Instant } from '../domain/time';
import type { EventMetadata, IdempotentEventMetadata } from '../eventLog/streams';
import { EVENT_SCHEMA_VERSION, accountStream, apiKeyStream } from '../eventLog/streams';
import type { KeyIndex, KeyLastUse } from '../readModel/keyLookups';
import type { Caller } from './caller';
import { LEAK_REPORTER } from './caller';
import type { CommandHandler } from './commandHandler';
import type { Idempotency } from './idempotency';
import { idempotencyOf, keyIdFor } from './idempotency';
import { ACCOUNT_RETRIES, KeyCreationProcess } from './keyCreationProcess';
import type { ReadYourWrites } from './readYourWrites';
import type { ApiKeyView } from './views';
import { viewFromSnapshot } from './views';

/** What the command side needs from outside: clock, ids and randomness are injected so tests control them. */
export interface CommandDependencies {
  /** Runs a use case with the command handler and returns once the read model reflects its writes. */
  settled: ReadYourWrites;
  /** Finds the key a reported secret belongs to. */
  keyIndex: KeyIndex;
  keyLastUse: KeyLastUse;
  clock: () => Date;
  newId: () => string;
  randomBytes: (size: number) => Buffer;
  defaultRegion: string;
  defaultKeyLimit: number;
}

/** A new key's settings, as a caller gives them. */
export interface NewApiKey {
  name: string;
  description?: string | null;
  region?: string | null;
  scope?: AccessScopeInput | null;
  ipAllowlist?: readonly string[] | null;
  expiresAt?: Date | null;
  acceptTerms: boolean;
  limits?: KeyLimitsInput | null;
  /** Raw JSON; the domain checks it. */
  metadata?: unknown;
}

// Without an expectedVersion, a concurrent change of the key is decided again on fresh state.
const KEY_RETRIES = 25;

type SetAccountPolicy = Extract<AccountCommand, { type: 'SetAccountPolicy' }>;

/** What identifies a request for its Idempotency-Key: its arguments, not the clock or a new secret. */
const withoutClock = ({ now: _now, maxKeyLifetimeDays: _policy, ...request }: { now: Instant } & Record<string, unknown>) => request;

/** A keyed create or rotate retried after it succeeded: its secret was shown once and cannot be shown again. */
const alreadyIssued = (keyId: string, what: 'created' | 'rotated'): DomainError =>
  new DomainError(
    'CONFLICT',
    `this Idempotency-Key's request already ${what} key ${keyId}; its secret was returned once, in that response, and is not stored. If that response was lost, rotate the key (with a new Idempotency-Key)`,
    'Idempotency-Key',
    { keyId },
  );

/**
 * The write side's use cases: each turns a caller's request into a domain command, runs it through
 * the command handler (read-your-writes around it), and returns the key as it now stands.
 */
export class ApiKeyCommands {
  constructor(private readonly deps: CommandDependencies) {}

  create(caller: Caller, input: NewApiKey): Promise<{ apiKey: ApiKeyView; secret: string }> {
    const idempotency = this.idempotency(caller, 'CreateApiKey', input);
    return this.deps.settled(async (handler) => {
      // With an Idempotency-Key the key id comes from it, so a retry finds what the first attempt wrote.
      const keyId = idempotency ? await this.keyIdForRetry(handler, idempotency) : this.deps.newId();
      try {
        return await this.createAs(handler, caller, keyId, input, idempotency);
      } catch (error) {
        // A concurrent attempt of the same keyed request created the key: answer as its retry.
        if (idempotency && error instanceof DomainError && error.code === 'CONFLICT') await this.keyIdForRetry(handler, idempotency);
        throw error;
      }
    });
  }

  private async createAs(handler: CommandHandler, caller: Caller, keyId: string, input: NewApiKey, idempotency: Idempotency | undefined) {
    const secret = this.newSecret();
    const command: CreateApiKey = {
      type: 'CreateApiKey',
      data: {
        ...this.target(caller, keyId),
        name: input.name,
        description: input.description ?? null,
        region: input.region ?? this.deps.defaultRegion,
        scope: input.scope ?? null,
        ipAllowlist: input.ipAllowlist ?? null,
        expiresAt: input.expiresAt ? toInstant(input.expiresAt) : null,
        acceptTerms: input.acceptTerms,
        fingerprint: fingerprintOf(secret),
        limits: input.limits ?? null,
        metadata: input.metadata ?? null,
      },
    };
    const { state } = await this.keyCreation(handler).create(command, this.metadata(caller, idempotency));
    if (state.status !== 'ACTIVE') throw new Error('a created key must be active');
    return { apiKey: viewFromSnapshot(state.key, null), secret };
  }

  /** The key id a keyed create uses: derived from the key, unless that id is taken by another request's key (then a fresh one). */
  private async keyIdForRetry(handler: CommandHandler, idempotency: Idempotency): Promise<string> {
    const keyId = keyIdFor(idempotency);
    const { state, replayed } = await handler.aggregate(apiKeyStream(keyId), apiKeyDecider, idempotency);
    if (replayed) throw alreadyIssued(keyId, 'created');
    return state.status === 'NONE' ? keyId : this.deps.newId();
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

  /** Gives the key a new secret, returned here once. The old one keeps verifying until the grace period ends (at once for 0). */
  async rotate(caller: Caller, id: string, gracePeriodSeconds: number, expectedVersion?: number | null): Promise<{ apiKey: ApiKeyView; secret: string; previousSecretValidUntil: Date }> {
    const secret = this.newSecret();
    const command = async (handler: CommandHandler): Promise<ApiKeyCommand> => ({
      type: 'RotateApiKey',
      data: { ...this.target(caller, id, expectedVersion), gracePeriodSeconds, fingerprint: fingerprintOf(secret), maxKeyLifetimeDays: await this.maxKeyLifetimeDays(handler, caller.accountId) },
    });
    const apiKey = await this.change(caller, command, { id, gracePeriodSeconds, expectedVersion: expectedVersion ?? null }, () => alreadyIssued(id, 'rotated'));
    return { apiKey, secret, previousSecretValidUntil: new Date(apiKey.updatedAt.getTime() + gracePeriodSeconds * 1000) };
  }

  /** Sets, moves (to a future instant) or, with null, clears the key's expiry. */
  updateExpiry(caller: Caller, id: string, expiresAt: Date | null | undefined, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, async (handler) => ({
      type: 'UpdateExpiry',
      data: { ...this.target(caller, id, expectedVersion), expiresAt: expiresAt ? toInstant(expiresAt) : null, maxKeyLifetimeDays: await this.maxKeyLifetimeDays(handler, caller.accountId) },
    }));
  }

  /** Sets the key's request and token limits (null: none of that kind); the very next verification enforces them. */
  updateLimits(caller: Caller, id: string, limits: KeyLimitsInput, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'UpdateLimits', data: { ...this.target(caller, id, expectedVersion), limits } });
  }

  /** Sets (or, with null, removes) the metadata valid verifications answer with. */
  updateMetadata(caller: Caller, id: string, metadata: unknown, expectedVersion?: number | null): Promise<ApiKeyView> {
    return this.change(caller, { type: 'UpdateMetadata', data: { ...this.target(caller, id, expectedVersion), metadata } });
  }

  /**
   * A secret reported leaked, by anyone who holds it: the key whose live secret it is gets
   * disabled with reason LEAKED. Resolves the same way whether or not such a key exists; only
   * text that is not one of our secrets at all (the checksum tells) is refused.
   */
  async reportLeak(secret: string, requestId: string): Promise<void> {
    if (!isWellFormedSecret(secret)) throw badInput('secret', 'secret is not a keyhub secret (sk- followed by 49 letters and digits with a valid checksum)');
    const reported = fingerprintOf(secret);
    const entry = await this.deps.keyIndex.entryOf(reported.secretHash);
    if (!entry || entry.deleted) return;
    const reporter: Caller = { sub: LEAK_REPORTER, accountId: entry.accountId, roles: [], requestId };
    await this.deps.settled((handler) => this.run(handler, reporter, { type: 'ReportLeakedKey', data: { ...this.target(reporter, entry.keyId), reported } }));
  }

  delete(caller: Caller, id: string, expectedVersion?: number | null): Promise<{ id: string; deletedAt: Date }> {
    return this.deps.settled(async (handler) => {
      const { state } = await this.run(handler, caller, { type: 'DeleteApiKey', data: this.target(caller, id, expectedVersion) });
      if (state.status !== 'DELETED') throw notFound();
      await this.keyCreation(handler).release(caller.accountId, id, this.metadata(caller));
      return { id, deletedAt: new Date(state.deletedAt) };
    });
  }

  /** Role admin: changes an account's key limit (read the quota afterwards from the read side). */
  async setAccountKeyLimit(caller: Caller, accountId: string, limit: number): Promise<void> {
    const command = { type: 'SetAccountKeyLimit', data: { accountId, limit, now: toInstant(this.deps.clock()) } } as const;
    await this.deps.settled((handler) => handler.handle(accountStream(accountId), accountDecider, command, { metadata: this.metadata(caller), retriesOnConflict: ACCOUNT_RETRIES }));
  }

  /** Replaces an account's policy (a setting left out is no rule) and answers it as it now stands. */
  async setAccountPolicy(caller: Caller, accountId: string, policy: SetAccountPolicy['data']['policy']): Promise<AccountPolicy> {
    const command: SetAccountPolicy = { type: 'SetAccountPolicy', data: { accountId, policy, now: toInstant(this.deps.clock()) } };
    const { state } = await this.deps.settled((handler) => handler.handle(accountStream(accountId), accountDecider, command, { metadata: this.metadata(caller), retriesOnConflict: ACCOUNT_RETRIES }));
    return state.policy;
  }

  /**
   * Runs a change and answers the key as it now stands. A keyed request that already ran changes
   * nothing and answers the same way, unless `onReplay` says it cannot (a rotation's secret).
   */
  private change(caller: Caller, command: ApiKeyCommand | ((handler: CommandHandler) => Promise<ApiKeyCommand>), request?: unknown, onReplay?: () => DomainError): Promise<ApiKeyView> {
    return this.deps.settled(async (handler) => {
      const { state, replayed } = await this.run(handler, caller, typeof command === 'function' ? await command(handler) : command, request);
      if (replayed && onReplay) throw onReplay();
      if (state.status !== 'ACTIVE') throw notFound();
      return viewFromSnapshot(state.key, await this.deps.keyLastUse.lastUsedAt(state.key.id));
    });
  }

  private run(handler: CommandHandler, caller: Caller, command: ApiKeyCommand, request: unknown = withoutClock(command.data)) {
    const idempotency = this.idempotency(caller, command.type, request);
    return handler.handle(apiKeyStream(command.data.keyId), apiKeyDecider, command, {
      metadata: this.metadata(caller, idempotency),
      idempotency,
      // With an expectedVersion a concurrent change is the caller's CONFLICT; without one, decide again on fresh state.
      retriesOnConflict: command.data.expectedVersion == null ? KEY_RETRIES : 0,
    });
  }

  /** The account policy's maximum key lifetime, read from the account's stream (null: no rule). */
  private async maxKeyLifetimeDays(handler: CommandHandler, accountId: string): Promise<number | null> {
    return (await handler.aggregate(accountStream(accountId), accountDecider)).state.policy.maxKeyLifetimeDays;
  }

  private keyCreation(handler: CommandHandler): KeyCreationProcess {
    return new KeyCreationProcess(handler, { defaultKeyLimit: this.deps.defaultKeyLimit, clock: this.deps.clock });
  }

  private newSecret(): string {
    return secretFromRandomBytes(this.deps.randomBytes(SECRET_RANDOM_BYTES));
  }

  private target(caller: Caller, keyId: string, expectedVersion?: number | null) {
    return { keyId, accountId: caller.accountId, now: toInstant(this.deps.clock()), expectedVersion: expectedVersion ?? null };
  }

  private idempotency(caller: Caller, operation: string, request: unknown): Idempotency | undefined {
    return caller.idempotencyKey ? idempotencyOf(caller.accountId, caller.idempotencyKey, operation, request, this.deps.clock()) : undefined;
  }

  private metadata(caller: Caller, idempotency?: Idempotency): EventMetadata {
    const metadata: EventMetadata = { actor: caller.sub, correlationId: caller.requestId, causationId: caller.requestId, schemaVersion: EVENT_SCHEMA_VERSION };
    return idempotency ? ({ ...metadata, idempotencyKey: idempotency.key, requestHash: idempotency.requestHash } satisfies IdempotentEventMetadata) : metadata;
  }
}

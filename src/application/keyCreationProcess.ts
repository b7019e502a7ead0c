import type { AccountCommand } from '../domain/account/account';
import { accountDecider } from '../domain/account/account';
import type { AccountPolicy } from '../domain/account/policy';
import { newKeyExpiry } from '../domain/account/policy';
import type { CreateApiKey } from '../domain/apiKey/commands';
import { apiKeyDecider } from '../domain/apiKey/decider';
import type { ApiKeyEvent } from '../domain/apiKey/events';
import type { ApiKeyState } from '../domain/apiKey/state';
import { DomainError } from '../domain/errors';
import { toInstant } from '../domain/time';
import type { EventMetadata } from '../eventLog/streams';
import { accountStream, apiKeyStream } from '../eventLog/streams';
import type { Position } from '../ports/eventStore';
import type { CommandHandler, HandledCommand } from './commandHandler';
import { AppendOutcomeUnknownError } from './commandHandler';

/** Concurrent creates in one account contend on its stream; each conflict re-reads and re-decides. */
export const ACCOUNT_RETRIES = 50;
/** A slot whose key stream never appeared is taken for a crashed create once it is this old (a create in flight is younger). */
export const ORPHANED_SLOT_MS = 60_000;

export interface KeyCreationPolicy {
  /** The limit of an account that has none of its own. */
  defaultKeyLimit: number;
  /** The time of the slot releases this process writes, and against which slots count as orphaned. */
  clock: () => Date;
}

/**
 * A key's creation spans two streams, which no store writes atomically: the account's stream
 * holds its key slots (the per-account limit is a cross-key invariant; the append's expected
 * revision serialises concurrent creates), the key's own stream holds the key.
 *
 * 1. Decide the creation alone first: bad input must not take a slot.
 * 2. Reserve a slot in the account's stream, where the requested expiry is checked against the
 *    account's policy. At the limit, reclaim stale slots (below) and try once more. The policy's
 *    default lifetime then gives an expiry to a key requested without one.
 * 3. Create the key in its stream through the command handler (a stream that already exists is
 *    decide's CONFLICT).
 * 4. If step 3 fails, release the slot step 2 took (compensation, best effort: a crash here is
 *    what step 2's reclaiming is for).
 *
 * A deletion writes the key's stream, then releases its slot (`release`). A crash between the two
 * writes of either leaves a slot that no live key holds. Such slots only make the limit stricter,
 * never looser, so they are reclaimed lazily, when the limit is hit: a deleted key's slot at once,
 * and the slot of a key whose stream never appeared once it is older than ORPHANED_SLOT_MS.
 */
export class KeyCreationProcess {
  constructor(
    private readonly handler: CommandHandler,
    private readonly policy: KeyCreationPolicy,
  ) {}

  async create(command: CreateApiKey, metadata: EventMetadata): Promise<HandledCommand<ApiKeyState, ApiKeyEvent>> {
    const { keyId, accountId, now } = command.data;
    apiKeyDecider.decide(command, apiKeyDecider.initialState());
    const { reserved, policy } = await this.reserveSlot(accountId, keyId, now, command.data.expiresAt ?? null, metadata);
    try {
      const expiresAt = newKeyExpiry(policy, command.data.expiresAt ?? null, now);
      const underPolicy: CreateApiKey = { ...command, data: { ...command.data, expiresAt } };
      return await this.handler.handle(apiKeyStream(keyId), apiKeyDecider, underPolicy, { metadata, retriesOnConflict: 0 });
    } catch (error) {
      // Only a slot this creation took (one the id already held belongs to the key that has it), and only when
      // the key is known not to be written: one that may exist keeps its slot (reclaimed later if it does not).
      if (reserved && !(error instanceof AppendOutcomeUnknownError)) await this.release(accountId, keyId, metadata).catch(() => undefined);
      throw error;
    }
  }

  /** Frees a key's slot (after its deletion); a slot already free is a no-op. Null when nothing was written. */
  async release(accountId: string, keyId: string, metadata: EventMetadata): Promise<Position | null> {
    return (await this.account({ type: 'ReleaseKeySlot', data: { accountId, keyId, now: this.now() } }, metadata)).position;
  }

  /** `reserved`: true when this wrote the reservation, false when the id held its slot already; with the account's policy as it stood. */
  private async reserveSlot(accountId: string, keyId: string, now: string, expiresAt: string | null, metadata: EventMetadata): Promise<{ reserved: boolean; policy: AccountPolicy }> {
    const reserve = async () => {
      const handled = await this.account({ type: 'ReserveKeySlot', data: { accountId, keyId, now, defaultLimit: this.policy.defaultKeyLimit, expiresAt } }, metadata);
      return { reserved: handled.position !== null, policy: handled.state.policy };
    };
    try {
      return await reserve();
    } catch (error) {
      if (!(error instanceof DomainError && error.code === 'QUOTA_EXCEEDED')) throw error;
      if ((await this.reclaimStaleSlots(accountId, metadata)) === 0) throw error;
      return reserve();
    }
  }

  private async reclaimStaleSlots(accountId: string, metadata: EventMetadata): Promise<number> {
    const { state } = await this.handler.aggregate(accountStream(accountId), accountDecider);
    const nowMs = this.policy.clock().getTime();
    let reclaimed = 0;
    for (const [keyId, reservedAt] of state.slots) {
      const key = await this.handler.aggregate(apiKeyStream(keyId), apiKeyDecider);
      const stale = key.state.status === 'DELETED' || (key.state.status === 'NONE' && nowMs - Date.parse(reservedAt) > ORPHANED_SLOT_MS);
      if (stale && (await this.release(accountId, keyId, metadata)) !== null) reclaimed += 1;
    }
    return reclaimed;
  }

  private account(command: AccountCommand, metadata: EventMetadata) {
    return this.handler.handle(accountStream(command.data.accountId), accountDecider, command, { metadata, retriesOnConflict: ACCOUNT_RETRIES });
  }

  private now(): string {
    return toInstant(this.policy.clock());
  }
}

import { checkExpiryWithinPolicy, expiryAfterRotation } from '../account/policy';
import { DomainError, assertNever, badInput, conflict, notFound } from '../errors';
import { parseDescription } from '../rules/description';
import { parseExpiry } from '../rules/expiry';
import { parseGracePeriod } from '../rules/gracePeriod';
import { parseIpAllowlist } from '../rules/ipAllowlist';
import { hasLimits, parseLimits, sameLimits } from '../rules/limits';
import { parseMetadata, sameMetadata } from '../rules/metadata';
import { parseKeyName } from '../rules/name';
import { parseRegion } from '../rules/region';
import { parseScope, sameList as sameAllowlist, sameScope } from '../rules/scope';
import type { KeyLimits } from '../rules/limits';
import type { KeyMetadata } from '../rules/metadata';
import { toInstant } from '../time';
import type { ApiKeyCommand, CreateApiKey } from './commands';
import type { ApiKeyEvent } from './events';
import type { ApiKeySnapshot, ApiKeyState } from './state';
import { liveSecret, versionOf } from './state';

/**
 * Decides what a command means for a key in a given state: the events to append, or a
 * DomainError. Input is validated first (so bad input is reported the same whether or not the
 * key exists), then existence and ownership (another account's key is NOT_FOUND), then the
 * expected version.
 *
 * No-ops return no events: renaming to the current name, setting the current description,
 * status, scope and allowlist, expiry, limits or metadata; reporting a secret that no longer verifies, or a key
 * already reported and still disabled.
 */
export function decide(command: ApiKeyCommand, state: ApiKeyState): ApiKeyEvent[] {
  if (command.type === 'CreateApiKey') return decideCreate(command, state);

  const { data } = command;
  const base = { keyId: data.keyId, accountId: data.accountId, occurredAt: data.now };
  switch (command.type) {
    case 'RenameApiKey': {
      const name = parseKeyName(command.data.name);
      const key = existingKey(command, state);
      return name === key.name ? [] : [{ type: 'ApiKeyRenamed', data: { ...base, name, previousName: key.name } }];
    }
    case 'UpdateDescription': {
      const description = parseDescription(command.data.description);
      const key = existingKey(command, state);
      return description === key.description ? [] : [{ type: 'ApiKeyDescriptionUpdated', data: { ...base, description } }];
    }
    case 'SetKeyStatus': {
      const { status } = command.data;
      if (status !== 'ENABLED' && status !== 'DISABLED') throw badInput('status', 'status must be ENABLED or DISABLED');
      const key = existingKey(command, state);
      return status === key.status ? [] : [{ type: 'ApiKeyStatusChanged', data: { ...base, status, reason: 'OWNER' } }];
    }
    case 'UpdateScope': {
      const scope = parseScope(command.data.scope);
      const requestedAllowlist = command.data.ipAllowlist == null ? null : parseIpAllowlist(command.data.ipAllowlist);
      const key = existingKey(command, state);
      // Without an ipAllowlist the current one stays.
      const ipAllowlist = requestedAllowlist ?? key.ipAllowlist;
      if (sameScope(scope, key.scope) && sameAllowlist(ipAllowlist, key.ipAllowlist)) return [];
      return [{ type: 'ApiKeyScopeUpdated', data: { ...base, scope, ipAllowlist } }];
    }
    case 'DeleteApiKey':
      existingKey(command, state);
      return [{ type: 'ApiKeyDeleted', data: base }];
    case 'RotateApiKey': {
      const graceSeconds = parseGracePeriod(command.data.gracePeriodSeconds);
      const key = existingKey(command, state);
      const { fingerprint } = command.data;
      if (fingerprint.secretHash === key.secretHash || fingerprint.secretHash === key.previousSecretHash) {
        throw new DomainError('CONFLICT', 'the new secret must differ from the key\'s secrets');
      }
      const graceUntil = toInstant(Date.parse(data.now) + graceSeconds * 1000);
      const { status, scope, ipAllowlist, limits, metadata } = key;
      // The new secret may not outlive the account's maximum lifetime, counted from now.
      const expiresAt = expiryAfterRotation(command.data.maxKeyLifetimeDays ?? null, key.expiresAt, data.now);
      const capped: ApiKeyEvent[] = expiresAt === key.expiresAt ? [] : [{ type: 'ApiKeyExpiryUpdated', data: { ...base, expiresAt } }];
      return [
        ...capped,
        {
          type: 'ApiKeyRotated',
          data: {
            ...base,
            secretHash: fingerprint.secretHash,
            maskedKey: fingerprint.maskedKey,
            previousSecretHash: key.secretHash,
            previousMaskedKey: key.maskedKey,
            graceUntil,
            status,
            scope,
            ipAllowlist,
            expiresAt,
            ...limitsAndMetadata(limits, metadata),
          },
        },
      ];
    }
    case 'UpdateExpiry': {
      const expiresAt = parseExpiry(command.data.expiresAt, data.now);
      checkExpiryWithinPolicy(command.data.maxKeyLifetimeDays ?? null, expiresAt, data.now);
      const key = existingKey(command, state);
      return expiresAt === key.expiresAt ? [] : [{ type: 'ApiKeyExpiryUpdated', data: { ...base, expiresAt } }];
    }
    case 'UpdateLimits': {
      const limits = parseLimits(command.data.limits);
      const key = existingKey(command, state);
      return sameLimits(limits, key.limits) ? [] : [{ type: 'ApiKeyLimitsUpdated', data: { ...base, limits } }];
    }
    case 'UpdateMetadata': {
      const metadata = parseMetadata(command.data.metadata);
      const key = existingKey(command, state);
      return sameMetadata(metadata, key.metadata) ? [] : [{ type: 'ApiKeyMetadataUpdated', data: { ...base, metadata } }];
    }
    case 'ReportLeakedKey': {
      const key = existingKey(command, state);
      const reportedSecret = liveSecret(key, command.data.reported.secretHash, data.now);
      if (reportedSecret === null || (key.leakReported && key.status === 'DISABLED')) return [];
      const reported: ApiKeyEvent = { type: 'ApiKeyLeakReported', data: { ...base, reportedSecret, maskedKey: command.data.reported.maskedKey } };
      return key.status === 'ENABLED' ? [reported, { type: 'ApiKeyStatusChanged', data: { ...base, status: 'DISABLED', reason: 'LEAKED' } }] : [reported];
    }
    default:
      return assertNever(command);
  }
}

function decideCreate(command: CreateApiKey, state: ApiKeyState): ApiKeyEvent[] {
  const { data } = command;
  const name = parseKeyName(data.name);
  const description = parseDescription(data.description);
  const region = parseRegion(data.region);
  const scope = parseScope(data.scope);
  const ipAllowlist = parseIpAllowlist(data.ipAllowlist ?? []);
  const expiresAt = parseExpiry(data.expiresAt, data.now);
  const limits = parseLimits(data.limits);
  const metadata = parseMetadata(data.metadata);
  if (data.acceptTerms !== true) throw badInput('acceptTerms', 'the terms must be accepted (acceptTerms: true) to create a key');
  // Ids are generated fresh per command, so this only guards against a reused id.
  if (state.status !== 'NONE') throw new DomainError('CONFLICT', `a key with id ${data.keyId} already exists`);
  return [
    {
      type: 'ApiKeyCreated',
      data: {
        keyId: data.keyId,
        accountId: data.accountId,
        occurredAt: data.now,
        name,
        description,
        region,
        secretHash: data.fingerprint.secretHash,
        maskedKey: data.fingerprint.maskedKey,
        scope,
        ipAllowlist,
        expiresAt,
        termsAccepted: true,
        ...limitsAndMetadata(limits, metadata),
      },
    },
  ];
}

/** A key's limits and metadata as creation and rotation events carry them: only when set. */
const limitsAndMetadata = (limits: KeyLimits, metadata: KeyMetadata | null): { limits?: KeyLimits; metadata?: KeyMetadata } => ({
  ...(hasLimits(limits) ? { limits } : {}),
  ...(metadata !== null ? { metadata } : {}),
});

/** The key the command addresses, if it exists, is not deleted, belongs to the caller and is at the expected version. */
function existingKey(command: ApiKeyCommand, state: ApiKeyState): ApiKeySnapshot {
  if (state.status !== 'ACTIVE' || state.key.accountId !== command.data.accountId) throw notFound();
  const expected = command.data.expectedVersion;
  if (expected != null && expected !== versionOf(state)) throw conflict(expected, versionOf(state));
  return state.key;
}

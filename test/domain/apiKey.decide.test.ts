import type { ApiKeyCommand, CreateApiKey } from '../../src/domain/apiKey/commands';
import { decide } from '../../src/domain/apiKey/decide';
import type { ApiKeyCreated, ApiKeyEvent } from '../../src/domain/apiKey/events';
import type { ApiKeyState } from '../../src/domain/apiKey/state';
import { evolve, foldEvents, initialState } from '../../src/domain/apiKey/state';
import { fingerprintOf, secretFromRandomBytes } from '../../src/domain/secret';
import { deciderSpecification } from '../support/deciderSpecification';
import { apiKeyCreated } from '../support/eventFixtures';

const spec = deciderSpecification<ApiKeyState, ApiKeyCommand, ApiKeyEvent>({ decide, evolve, initialState });

const keyId = 'key-1';
const accountId = 'acct-1';
const created = '2026-11-25T08:00:00.000Z';
const now = '2026-11-25T09:00:00.000Z';
const fingerprint = fingerprintOf(secretFromRandomBytes(Buffer.alloc(32, 7)));

const createCommand = (data: Partial<CreateApiKey['data']> = {}): CreateApiKey => ({
  type: 'CreateApiKey',
  data: { keyId, accountId, now: created, name: 'prod backend', region: 'us-east-1', acceptTerms: true, fingerprint, ...data },
});

const keyCreated = (data: Partial<ApiKeyCreated['data']> = {}): ApiKeyCreated =>
  apiKeyCreated({ keyId, accountId, occurredAt: created, secretHash: fingerprint.secretHash, maskedKey: fingerprint.maskedKey, ...data });
const base = { keyId, accountId, occurredAt: now };
const deleted: ApiKeyEvent = { type: 'ApiKeyDeleted', data: base };
const disabled: ApiKeyEvent = { type: 'ApiKeyStatusChanged', data: { ...base, status: 'DISABLED', reason: 'OWNER' } };
const on = { keyId, accountId, now };

describe('ApiKey', () => {
  describe('when created', () => {
    it('should record the normalised key, the terms acceptance and only the fingerprint of the secret', () => {
      spec
        .given([])
        .when(
          createCommand({
            name: '  prod backend ',
            description: '  calls from the batch job ',
            scope: { mode: 'RESTRICTED', models: ['qwen-max', 'qwen-max'], services: [] },
            ipAllowlist: ['10.1.2.3/8', '::ffff:192.168.0.1', '2001:DB8::1'],
            expiresAt: '2027-01-01T00:00:00.000Z',
          }),
        )
        .then([
          keyCreated({
            description: 'calls from the batch job',
            scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: [] },
            ipAllowlist: ['10.0.0.0/8', '192.168.0.1', '2001:db8::1'],
            expiresAt: '2027-01-01T00:00:00.000Z',
          }),
        ]);
    });

    it('should accept names in any script with single spaces', () => {
      for (const name of ['生产环境 密钥', 'clé-de_prod 2', 'Ключ API', 'ab', 'x'.repeat(64), 'हिन्दी कुंजी']) {
        expect(decide(createCommand({ name }), initialState())).toHaveLength(1);
      }
    });

    it.each([
      ['a', 'too short'],
      ['x'.repeat(65), 'too long'],
      ['two  spaces', 'double space'],
      ['semi;colon', 'punctuation'],
      ['emoji 🙂', 'emoji'],
      ['tab\there', 'tab'],
    ])('should reject the name %p (%s)', (name) => {
      spec.given([]).when(createCommand({ name })).thenThrows('BAD_USER_INPUT', 'name');
    });

    it('should reject a description over 200 characters', () => {
      spec.given([]).when(createCommand({ description: 'd'.repeat(201) })).thenThrows('BAD_USER_INPUT', 'description');
      expect(decide(createCommand({ description: 'd'.repeat(200) }), initialState())).toHaveLength(1);
    });

    it('should reject an invalid region', () => {
      spec.given([]).when(createCommand({ region: 'US East' })).thenThrows('BAD_USER_INPUT', 'region');
    });

    it('should reject an expiry that is not in the future', () => {
      spec.given([]).when(createCommand({ expiresAt: created })).thenThrows('BAD_USER_INPUT', 'expiresAt');
    });

    it('should require the terms to be accepted', () => {
      spec.given([]).when(createCommand({ acceptTerms: false })).thenThrows('BAD_USER_INPUT', 'acceptTerms');
    });

    it('should name the offending allowlist entry', () => {
      spec.given([]).when(createCommand({ ipAllowlist: ['10.0.0.1', '300.1.1.1'] })).thenThrows('BAD_USER_INPUT', 'ipAllowlist[1]');
      spec.given([]).when(createCommand({ ipAllowlist: ['10.0.0.0/33'] })).thenThrows('BAD_USER_INPUT', 'ipAllowlist[0]');
    });

    it('should allow at most 50 allowlist entries', () => {
      const entries = Array.from({ length: 51 }, (_, i) => `10.0.${i}.1`);
      spec.given([]).when(createCommand({ ipAllowlist: entries })).thenThrows('BAD_USER_INPUT', 'ipAllowlist');
      expect(decide(createCommand({ ipAllowlist: entries.slice(0, 50) }), initialState())).toHaveLength(1);
    });

    it('should reject a RESTRICTED scope that lists nothing, and an ALL scope that lists something', () => {
      spec.given([]).when(createCommand({ scope: { mode: 'RESTRICTED', models: [], services: [] } })).thenThrows('BAD_USER_INPUT', 'scope');
      spec.given([]).when(createCommand({ scope: { mode: 'ALL', models: ['qwen-max'] } })).thenThrows('BAD_USER_INPUT', 'scope.models');
      spec.given([]).when(createCommand({ scope: { mode: 'RESTRICTED', services: ['bad service'] } })).thenThrows('BAD_USER_INPUT', 'scope.services[0]');
    });

    it('should refuse to create a key whose id exists', () => {
      spec.given([keyCreated()]).when(createCommand()).thenThrows('CONFLICT');
    });

    it('should report bad input before anything about the state', () => {
      spec.given([keyCreated()]).when(createCommand({ name: '!' })).thenThrows('BAD_USER_INPUT', 'name');
    });
  });

  describe('when renamed', () => {
    it('should record the new and the previous name', () => {
      spec
        .given([keyCreated()])
        .when({ type: 'RenameApiKey', data: { ...on, name: 'staging' } })
        .then([{ type: 'ApiKeyRenamed', data: { ...base, name: 'staging', previousName: 'prod backend' } }]);
    });

    it('should do nothing when the name is the current one', () => {
      spec.given([keyCreated()]).when({ type: 'RenameApiKey', data: { ...on, name: 'prod backend' } }).thenNothingHappens();
    });

    it('should report CONFLICT for a stale expectedVersion and accept the current one', () => {
      spec.given([keyCreated(), disabled]).when({ type: 'RenameApiKey', data: { ...on, name: 'x1', expectedVersion: 1 } }).thenThrows('CONFLICT');
      expect(decide({ type: 'RenameApiKey', data: { ...on, name: 'x1', expectedVersion: 2 } }, foldEvents([keyCreated(), disabled]))).toHaveLength(1);
    });

    it('should treat another account\'s key, a deleted key and an unknown key as NOT_FOUND', () => {
      spec.given([keyCreated()]).when({ type: 'RenameApiKey', data: { ...on, accountId: 'other', name: 'x1' } }).thenThrows('NOT_FOUND');
      spec.given([keyCreated(), deleted]).when({ type: 'RenameApiKey', data: { ...on, name: 'x1' } }).thenThrows('NOT_FOUND');
      spec.given([]).when({ type: 'RenameApiKey', data: { ...on, name: 'x1' } }).thenThrows('NOT_FOUND');
    });

    it('should validate the new name', () => {
      spec.given([keyCreated()]).when({ type: 'RenameApiKey', data: { ...on, name: ' ' } }).thenThrows('BAD_USER_INPUT', 'name');
    });
  });

  describe('when its description is updated', () => {
    it('should record the description, and clearing it as null', () => {
      spec
        .given([keyCreated()])
        .when({ type: 'UpdateDescription', data: { ...on, description: 'batch jobs' } })
        .then([{ type: 'ApiKeyDescriptionUpdated', data: { ...base, description: 'batch jobs' } }]);
      spec
        .given([keyCreated({ description: 'batch jobs' })])
        .when({ type: 'UpdateDescription', data: { ...on, description: '   ' } })
        .then([{ type: 'ApiKeyDescriptionUpdated', data: { ...base, description: null } }]);
    });

    it('should do nothing when the description is unchanged', () => {
      spec.given([keyCreated()]).when({ type: 'UpdateDescription', data: { ...on, description: null } }).thenNothingHappens();
    });
  });

  describe('when its status is set', () => {
    it('should disable and enable, by its owner', () => {
      spec.given([keyCreated()]).when({ type: 'SetKeyStatus', data: { ...on, status: 'DISABLED' } }).then([disabled]);
      spec
        .given([keyCreated(), disabled])
        .when({ type: 'SetKeyStatus', data: { ...on, status: 'ENABLED' } })
        .then([{ type: 'ApiKeyStatusChanged', data: { ...base, status: 'ENABLED', reason: 'OWNER' } }]);
    });

    it('should do nothing when the key already has that status', () => {
      spec.given([keyCreated(), disabled]).when({ type: 'SetKeyStatus', data: { ...on, status: 'DISABLED' } }).thenNothingHappens();
    });
  });

  describe('when its scope is updated', () => {
    const restricted = { mode: 'RESTRICTED' as const, models: ['qwen-*'], services: ['chat'] };

    it('should replace the scope and keep the allowlist when none is given', () => {
      spec
        .given([keyCreated({ ipAllowlist: ['10.0.0.0/8'] })])
        .when({ type: 'UpdateScope', data: { ...on, scope: restricted } })
        .then([{ type: 'ApiKeyScopeUpdated', data: { ...base, scope: restricted, ipAllowlist: ['10.0.0.0/8'] } }]);
    });

    it('should replace the allowlist when one is given, an empty one meaning any address', () => {
      spec
        .given([keyCreated({ ipAllowlist: ['10.0.0.0/8'] })])
        .when({ type: 'UpdateScope', data: { ...on, scope: { mode: 'ALL' }, ipAllowlist: [] } })
        .then([{ type: 'ApiKeyScopeUpdated', data: { ...base, scope: { mode: 'ALL', models: [], services: [] }, ipAllowlist: [] } }]);
    });

    it('should do nothing when scope and allowlist are unchanged', () => {
      spec
        .given([keyCreated({ scope: restricted, ipAllowlist: ['10.0.0.0/8'] })])
        .when({ type: 'UpdateScope', data: { ...on, scope: restricted, ipAllowlist: ['10.1.1.1/8'] } })
        .thenNothingHappens();
    });

    it('should name the offending field', () => {
      spec.given([keyCreated()]).when({ type: 'UpdateScope', data: { ...on, scope: { mode: 'ALL' }, ipAllowlist: ['nope'] } }).thenThrows('BAD_USER_INPUT', 'ipAllowlist[0]');
    });
  });

  describe('when deleted', () => {
    it('should record the deletion, after which the key is gone for every command', () => {
      spec.given([keyCreated()]).when({ type: 'DeleteApiKey', data: on }).then([deleted]);
      spec.given([keyCreated(), deleted]).when({ type: 'DeleteApiKey', data: on }).thenThrows('NOT_FOUND');
      spec.given([keyCreated(), deleted]).when({ type: 'SetKeyStatus', data: { ...on, status: 'ENABLED' } }).thenThrows('NOT_FOUND');
    });

    it('should honour expectedVersion', () => {
      spec.given([keyCreated(), disabled]).when({ type: 'DeleteApiKey', data: { ...on, expectedVersion: 1 } }).thenThrows('CONFLICT');
    });
  });

  describe('state', () => {
    it('should count every lifecycle event as a version and keep the last change time', () => {
      const state = foldEvents([keyCreated(), disabled, { type: 'ApiKeyRenamed', data: { ...base, occurredAt: '2026-11-25T10:00:00.000Z', name: 'b2', previousName: 'prod backend' } }]);
      expect(state.status).toBe('ACTIVE');
      if (state.status !== 'ACTIVE') return;
      expect(state.key).toMatchObject({ version: 3, name: 'b2', status: 'DISABLED', createdAt: created, updatedAt: '2026-11-25T10:00:00.000Z' });
    });

    it('should keep a deleted key as it was, with its deletion time', () => {
      const state = foldEvents([keyCreated(), deleted]);
      expect(state).toMatchObject({ status: 'DELETED', deletedAt: now, key: { name: 'prod backend', version: 2 } });
    });
  });
});

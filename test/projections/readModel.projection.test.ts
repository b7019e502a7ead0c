import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import { accountStream, USAGE_STREAM } from '../../src/eventLog/streams';
import type { ProjectedEvent } from '../../src/readModel/projectedEvent';
import type { AccountDocument, ApiKeyDocument, KeyIndexDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { applyBatch, ensureIndexes } from '../../projections/registry';
import { projectedEvent, projectedKeyEvent } from '../support/eventFixtures';

const keyId = 'key-1';
const accountId = 'acct-1';
const at = (minute: number) => `2026-11-25T08:${String(minute).padStart(2, '0')}:00.000Z`;
const keyEvent = (revision: number, type: string, data: object, minute = revision): ProjectedEvent =>
  projectedKeyEvent({ keyId, accountId }, revision, type, data, at(minute));

const created = keyEvent(0, 'ApiKeyCreated', {
  name: 'Prod Backend',
  description: null,
  region: 'us-east-1',
  secretHash: 'hash-1',
  maskedKey: 'sk-ab***wxyz',
  scope: { mode: 'ALL', models: [], services: [] },
  ipAllowlist: ['10.0.0.0/8'],
  expiresAt: '2027-01-01T00:00:00.000Z',
  termsAccepted: true,
});
const renamed = keyEvent(1, 'ApiKeyRenamed', { name: 'staging', previousName: 'Prod Backend' });
const described = keyEvent(2, 'ApiKeyDescriptionUpdated', { description: 'batch' });
const disabled = keyEvent(3, 'ApiKeyStatusChanged', { status: 'DISABLED', reason: 'OWNER' });
const rescoped = keyEvent(4, 'ApiKeyScopeUpdated', { scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: [] }, ipAllowlist: [] });
const deleted = keyEvent(5, 'ApiKeyDeleted', {});

const usage = (usedAt: string): ProjectedEvent => projectedEvent(USAGE_STREAM, 0, 'ApiKeysUsed', { uses: [{ keyId, accountId, usedAt }] });

async function readModelAfter(...batches: ProjectedEvent[][]) {
  const database = new InProcessDatabase();
  await ensureIndexes(database);
  for (const batch of batches) await applyBatch(database, batch);
  return {
    database,
    key: () => database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: keyId }),
    index: () => database.collection<KeyIndexDocument>(COLLECTIONS.keyIndex).findOne({ keyId }),
  };
}

describe('Read model projections', () => {
  it('should list a created key with its masked secret, never used, and index its hash', async () => {
    const { key, index } = await readModelAfter([created]);
    expect(await key()).toEqual({
      _id: keyId,
      accountId,
      name: 'Prod Backend',
      nameSort: 'prod backend',
      description: null,
      region: 'us-east-1',
      maskedKey: 'sk-ab***wxyz',
      status: 'ENABLED',
      scope: { mode: 'ALL', models: [], services: [] },
      ipAllowlist: ['10.0.0.0/8'],
      createdAt: new Date(at(0)),
      updatedAt: new Date(at(0)),
      lastUsedAt: null,
      expiresAt: new Date('2027-01-01T00:00:00.000Z'),
      deletedAt: null,
      limits: { requestsPerMinute: null, requestsPerDay: null, tokensPerMinute: null, tokensPerDay: null, tokensPerMonth: null },
      metadata: null,
      version: 1,
      revision: 0,
    });
    expect(await index()).toMatchObject({ _id: 'hash-1', keyId, accountId, status: 'ENABLED', deleted: false, revision: 0 });
  });

  it('should apply limits and metadata to the key list and to every hash the index holds for the key', async () => {
    const limits = { requestsPerMinute: 10, requestsPerDay: null, tokensPerMinute: null, tokensPerDay: 5000, tokensPerMonth: null };
    const limited = keyEvent(1, 'ApiKeyLimitsUpdated', { limits });
    const tagged = keyEvent(2, 'ApiKeyMetadataUpdated', { metadata: { team: 'search', plan: 'pro' } });
    const { key, index } = await readModelAfter([created, limited, tagged]);
    expect(await key()).toMatchObject({ limits, metadata: { team: 'search', plan: 'pro' }, version: 3 });
    expect(await index()).toMatchObject({ limits, metadata: { team: 'search', plan: 'pro' }, revision: 2 });
  });

  it.each([
    ['ApiKeyRenamed', [renamed], { name: 'staging', nameSort: 'staging', version: 2 }],
    ['ApiKeyDescriptionUpdated', [renamed, described], { description: 'batch', version: 3 }],
    ['ApiKeyStatusChanged', [renamed, described, disabled], { status: 'DISABLED', version: 4 }],
    ['ApiKeyScopeUpdated', [renamed, described, disabled, rescoped], { scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: [] }, ipAllowlist: [], version: 5 }],
    ['ApiKeyDeleted', [renamed, described, disabled, rescoped, deleted], { deletedAt: new Date(at(5)), version: 6 }],
  ])('should apply %s to the key list, and leave the same document when applied twice', async (_type, events, expected) => {
    const once = await readModelAfter([created, ...events]);
    const twice = await readModelAfter([created, ...events], events, [created]);
    const document = await once.key();
    expect(document).toMatchObject({ ...expected, updatedAt: new Date(at(events.length)) });
    expect(await twice.key()).toEqual(document);
    expect(await twice.index()).toEqual(await once.index());
  });

  it('should keep the hashed-key index in step: status, scope, and a tombstone on deletion', async () => {
    const { index } = await readModelAfter([created, renamed, described, disabled, rescoped, deleted]);
    expect(await index()).toMatchObject({ status: 'DISABLED', scope: { mode: 'RESTRICTED' }, ipAllowlist: [], deleted: true, revision: 5 });
  });

  it('should never move a document backwards when an older event arrives late', async () => {
    const { key } = await readModelAfter([created, renamed, disabled], [renamed]);
    expect(await key()).toMatchObject({ status: 'DISABLED', name: 'staging', version: 4 });
  });

  it('should keep the latest use as lastUsedAt, whatever order uses arrive in, and ignore uses twice', async () => {
    const later = usage('2026-11-25T09:30:00.000Z');
    const earlier = usage('2026-11-25T09:00:00.000Z');
    const { key } = await readModelAfter([created, later, earlier], [later]);
    expect((await key())?.lastUsedAt).toEqual(new Date('2026-11-25T09:30:00.000Z'));
    expect((await key())?.version).toBe(1); // a use is not a lifecycle event
  });

  it('should record an account limit, applied twice or late without moving back', async () => {
    const limit = (revision: number, value: number): ProjectedEvent =>
      projectedEvent(accountStream(accountId), revision, 'AccountKeyLimitSet', { accountId, limit: value, occurredAt: at(revision) });
    const { database } = await readModelAfter([limit(0, 5), limit(3, 7)], [limit(0, 5)], [limit(3, 7)]);
    expect(await database.collection<AccountDocument>(COLLECTIONS.accounts).findOne({ _id: accountId })).toEqual({ _id: accountId, limit: 7, revision: 3 });
  });

  it('should store the checkpoint of the last event applied', async () => {
    const { database } = await readModelAfter([created, renamed]);
    expect(await database.collection(COLLECTIONS.checkpoints).findOne({})).toMatchObject({ commit: String(renamed.position.commit) });
  });
});

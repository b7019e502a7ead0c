import { InProcessDatabase } from '../../src/adapters/inProcess/inProcessDatabase';
import type { ProjectedEvent } from '../../src/readModel/projectedEvent';
import type { ApiKeyDocument, KeyIndexDocument } from '../../src/readModel/documents';
import { COLLECTIONS } from '../../src/readModel/documents';
import { applyBatch, ensureIndexes } from '../../projections/registry';
import { projectedKeyEvent } from '../support/eventFixtures';

const keyId = 'key-r';
const accountId = 'acct-r';
const at = (minute: number) => `2026-11-25T08:${String(minute).padStart(2, '0')}:00.000Z`;
const scope = { mode: 'ALL', models: [], services: [] };
const keyEvent = (revision: number, type: string, data: object): ProjectedEvent => projectedKeyEvent({ keyId, accountId }, revision, type, data, at(revision));

const created = keyEvent(0, 'ApiKeyCreated', {
  name: 'rotating',
  description: null,
  region: 'eu',
  secretHash: 'hash-1',
  maskedKey: 'sk-aa***1111',
  scope,
  ipAllowlist: [],
  expiresAt: null,
  termsAccepted: true,
});
const rotation = (revision: number, from: string, to: string, graceUntil: string) =>
  keyEvent(revision, 'ApiKeyRotated', {
    secretHash: to,
    maskedKey: `sk-${to}`,
    previousSecretHash: from,
    previousMaskedKey: `sk-${from}`,
    graceUntil,
    status: 'ENABLED',
    scope,
    ipAllowlist: [],
    expiresAt: null,
  });
const firstRotation = rotation(1, 'hash-1', 'hash-2', at(30));
const disabled = keyEvent(2, 'ApiKeyStatusChanged', { status: 'DISABLED', reason: 'OWNER' });
const expiry = keyEvent(3, 'ApiKeyExpiryUpdated', { expiresAt: '2030-01-01T00:00:00.000Z' });
const secondRotation = rotation(4, 'hash-2', 'hash-3', at(40));
const leakOfPrevious = keyEvent(5, 'ApiKeyLeakReported', { reportedSecret: 'PREVIOUS', maskedKey: 'sk-hash-2' });
const deleted = keyEvent(6, 'ApiKeyDeleted', {});

async function readModelAfter(...batches: ProjectedEvent[][]) {
  const database = new InProcessDatabase();
  await ensureIndexes(database);
  for (const batch of batches) await applyBatch(database, batch);
  const index = database.collection<KeyIndexDocument>(COLLECTIONS.keyIndex);
  return {
    entry: (hash: string) => index.findOne({ _id: hash }),
    entries: async () => (await index.find({ keyId }, { sort: { _id: 1 } }).toArray()).map(({ _id, status, graceUntil, expiresAt, deleted: gone, revision }) => ({ _id, status, graceUntil, expiresAt, deleted: gone, revision })),
    key: () => database.collection<ApiKeyDocument>(COLLECTIONS.apiKeys).findOne({ _id: keyId }),
  };
}

describe('Hashed-key index through rotations', () => {
  it('should index the new secret and keep the rotated-out one with its grace deadline', async () => {
    const { entry, key } = await readModelAfter([created, firstRotation]);
    expect(await entry('hash-2')).toMatchObject({ keyId, accountId, status: 'ENABLED', scope, graceUntil: null, deleted: false, revision: 1 });
    expect(await entry('hash-1')).toMatchObject({ keyId, graceUntil: new Date(at(30)), revision: 1 });
    expect(await key()).toMatchObject({ maskedKey: 'sk-hash-2', version: 2 });
  });

  it('should apply later changes to every hash of the key', async () => {
    const { entries } = await readModelAfter([created, firstRotation, disabled, expiry]);
    const expiresAt = new Date('2030-01-01T00:00:00.000Z');
    expect(await entries()).toEqual([
      { _id: 'hash-1', status: 'DISABLED', graceUntil: new Date(at(30)), expiresAt, deleted: false, revision: 3 },
      { _id: 'hash-2', status: 'DISABLED', graceUntil: null, expiresAt, deleted: false, revision: 3 },
    ]);
  });

  it('should end older rotated-out secrets at the next rotation, and a leaked previous secret at the report', async () => {
    const { entries } = await readModelAfter([created, firstRotation, disabled, expiry, secondRotation, leakOfPrevious]);
    const graces = Object.fromEntries((await entries()).map((doc) => [doc._id, doc.graceUntil]));
    expect(graces).toEqual({ 'hash-1': new Date(at(4)), 'hash-2': new Date(at(5)), 'hash-3': null });
  });

  it('should carry the status at rotation into the new secret\'s entry', async () => {
    const { entry } = await readModelAfter([created, firstRotation, disabled, expiry, secondRotation]);
    expect(await entry('hash-3')).toMatchObject({ status: 'ENABLED', revision: 4 });
  });

  it('should tombstone every hash on deletion', async () => {
    const { entries } = await readModelAfter([created, firstRotation, disabled, expiry, secondRotation, leakOfPrevious, deleted]);
    expect((await entries()).map((doc) => doc.deleted)).toEqual([true, true, true]);
  });

  it('should leave the same documents when every event is applied twice', async () => {
    const all = [created, firstRotation, disabled, expiry, secondRotation, leakOfPrevious];
    const once = await readModelAfter(all);
    const twice = await readModelAfter(all, all, [firstRotation, disabled]);
    expect(await twice.entries()).toEqual(await once.entries());
    expect(await twice.key()).toEqual(await once.key());
  });
});

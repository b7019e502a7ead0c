import { closeSync, openSync, readFileSync, readdirSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { freshDataDir, startKeyhubProcess } from '../support/keyhubProcess';
import { clientFor } from '../support/graphqlClient';
import { CREATE, DELETE, GET, HISTORY, LIST, QUOTA, RENAME, SET_STATUS, VERIFY } from '../support/operations';

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

describe('Restart on the same DATA_DIR', () => {
  const dataDir = freshDataDir();
  const secrets: string[] = [];
  let first: KeyhubProcess;
  let second: KeyhubProcess | null = null;
  let output = '';

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it('keeps every key, status, history and last use, and no plaintext secret is at rest or in the output', async () => {
    first = await startKeyhubProcess({ dataDir });
    const owner = await clientFor(first.url, { sub: 'alice', account: 'acct-durable' });
    const gatewayFirst = await clientFor(first.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });
    const created = [];
    for (const name of ['kept enabled', 'kept disabled', 'deleted one']) {
      const { apiKey, secret } = (await owner.call(CREATE, { input: { name, acceptTerms: true } })).createApiKey;
      created.push(apiKey);
      secrets.push(secret);
    }
    const [enabled, disabled, deleted] = created;
    await owner.call(RENAME, { id: enabled.id, name: 'kept and renamed' });
    await owner.call(SET_STATUS, { id: disabled.id, status: 'DISABLED' });
    await owner.call(DELETE, { id: deleted.id });
    // A use right before shutdown: SIGTERM must write it rather than lose it.
    expect((await gatewayFirst.call(VERIFY, { key: secrets[0] })).verifyApiKey.valid).toBe(true);

    const listBefore = (await owner.call(LIST)).apiKeys;
    const historyBefore = await Promise.all(created.map(async (key) => (await owner.call(HISTORY, { id: key.id })).apiKeyHistory));
    expect(await first.stop('SIGTERM')).toBe(0);
    output += first.output();

    second = await startKeyhubProcess({ dataDir });
    // The read model came back from the snapshot written at shutdown, then caught up from the log.
    expect(second.output()).toMatch(/documents loaded from \S*read-model\.snapshot at position \d+, then caught up from the log/);
    const ownerAgain = await clientFor(second.url, { sub: 'alice', account: 'acct-durable' });
    const gateway = await clientFor(second.url, { sub: 'gw', account: 'platform', roles: ['gateway'] });

    const listAfter = (await ownerAgain.call(LIST)).apiKeys;
    expect(listAfter.totalCount).toBe(2);
    const usedKey = listAfter.nodes.find((node: { id: string }) => node.id === enabled.id);
    expect(usedKey.lastUsedAt).not.toBeNull(); // the use flushed at shutdown survived
    expect(listAfter.nodes.map((node: { lastUsedAt: string | null }) => ({ ...node, lastUsedAt: null }))).toEqual(
      listBefore.nodes.map((node: { lastUsedAt: string | null }) => ({ ...node, lastUsedAt: null })),
    );
    for (const [index, key] of created.entries()) {
      expect((await ownerAgain.call(HISTORY, { id: key.id })).apiKeyHistory).toEqual(historyBefore[index]);
    }
    expect((await ownerAgain.call(GET, { id: disabled.id })).apiKey.status).toBe('DISABLED');
    expect((await ownerAgain.call(QUOTA)).accountQuota).toEqual({ limit: 50, used: 2 });

    expect((await gateway.call(VERIFY, { key: secrets[0] })).verifyApiKey).toMatchObject({ valid: true, keyId: enabled.id });
    expect((await gateway.call(VERIFY, { key: secrets[1] })).verifyApiKey).toMatchObject({ valid: false, reason: 'DISABLED' });
    expect((await gateway.call(VERIFY, { key: secrets[2] })).verifyApiKey).toMatchObject({ valid: false, reason: 'NOT_FOUND' });

    // Creating after the restart still counts the slots held before it.
    expect((await ownerAgain.call(CREATE, { input: { name: 'after restart', acceptTerms: true } })).createApiKey.apiKey.version).toBe(1);
    expect((await ownerAgain.call(QUOTA)).accountQuota.used).toBe(3);

    expect(await second.stop('SIGTERM')).toBe(0);
    output += second.output();
    second = null;

    // The scan: every byte under DATA_DIR (log, WAL, secrets) and everything the server printed.
    const files = filesUnder(dataDir);
    expect(files.some((file) => file.endsWith('events.sqlite'))).toBe(true);
    for (const secret of secrets) {
      expect(output).not.toContain(secret);
      for (const file of files) {
        const bytes = readFileSync(file);
        expect(bytes.includes(Buffer.from(secret))).toBe(false);
        // nor the part that the mask does not show
        expect(bytes.includes(Buffer.from(secret.slice(5, -4)))).toBe(false);
      }
    }
  });
});

describe('A damaged log', () => {
  it('stops start-up with exit code 2 and a message that says what to do, instead of retrying as if an engine were down', async () => {
    const dataDir = freshDataDir();
    const keyhub = await startKeyhubProcess({ dataDir });
    const owner = await clientFor(keyhub.url, { sub: 'alice', account: 'acct-damaged' });
    for (let i = 0; i < 20; i += 1) await owner.call(CREATE, { input: { name: `key ${i}`, acceptTerms: true } });
    expect(await keyhub.stop()).toBe(0); // the last connection's close folds the -wal file into events.sqlite
    const file = join(dataDir, 'events.sqlite');
    const pageSize = readFileSync(file).readUInt16BE(16);
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, pageSize); // page 2: the events table's root
    closeSync(fd);
    await expect(startKeyhubProcess({ dataDir })).rejects.toThrow(/exited with 2[\s\S]*event log .*events\.sqlite is damaged/);
  });
});

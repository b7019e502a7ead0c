import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { newOwner as ownerOf } from '../support/apiHelpers';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { startKeyhubProcess } from '../support/keyhubProcess';
import { clientFor, errorOf } from '../support/graphqlClient';
import { CREATE, RENAME, SET_STATUS } from '../support/operations';
import { HISTORY_WITH_CHAIN, ROTATE, VERIFY_HISTORY } from '../support/keyCareOperations';
import { auditKeyring, chainLink } from '../../src/domain/audit/hashChain';

type Client = Awaited<ReturnType<typeof clientFor>>;
const run = promisify(execFile);
const DIST = join(__dirname, '..', '..', 'dist', 'scripts');

/** Edits a stored event behind the service's back, as someone with access to the database file could. */
function tamper(dataDir: string, keyId: string, revision: number, edit: (data: Record<string, unknown>) => Record<string, unknown>, relink?: (data: Record<string, unknown>, type: string) => string) {
  const db = new Database(join(dataDir, 'events.sqlite'));
  db.pragma('busy_timeout = 5000');
  try {
    const row = db.prepare('SELECT type, data, metadata FROM events WHERE stream = ? AND revision = ?').get(`apiKey-${keyId}`, revision) as { type: string; data: string; metadata: string };
    const data = edit(JSON.parse(row.data) as Record<string, unknown>);
    const metadata = JSON.parse(row.metadata) as Record<string, unknown>;
    if (relink) metadata['chainLink'] = relink(data, row.type);
    db.prepare('UPDATE events SET data = ?, metadata = ? WHERE stream = ? AND revision = ?').run(JSON.stringify(data), JSON.stringify(metadata), `apiKey-${keyId}`, revision);
  } finally {
    db.close();
  }
}

async function cli(script: string, args: string[], dataDir: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(DIST, script), ...args], { env: { PATH: process.env['PATH'] ?? '', DATA_DIR: dataDir, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('Tamper-evident history and audit export, end to end', () => {
  let keyhub: KeyhubProcess;
  const newOwner = () => ownerOf(keyhub.url, `auditor-${randomUUID()}`);
  async function keyWithHistory(owner: Client) {
    const { apiKey, secret } = (await owner.call(CREATE, { input: { name: 'audited', acceptTerms: true } })).createApiKey;
    await owner.call(RENAME, { id: apiKey.id, name: 'audited 2' });
    await owner.call(SET_STATUS, { id: apiKey.id, status: 'DISABLED' });
    const rotated = (await owner.call(ROTATE, { id: apiKey.id, grace: 60 })).rotateApiKey.secret as string;
    return { id: apiKey.id as string, secrets: [secret as string, rotated] };
  }

  beforeAll(async () => {
    keyhub = await startKeyhubProcess();
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  it('links every event to the one before, and finds an untouched history intact', async () => {
    const owner = await newOwner();
    const { id } = await keyWithHistory(owner);
    const history = (await owner.call(HISTORY_WITH_CHAIN, { id })).apiKeyHistory;
    expect(history).toHaveLength(4);
    expect(history.every((event: { chainLink: string }) => /^[0-9a-f]{64}$/.test(event.chainLink))).toBe(true);
    expect((await owner.call(VERIFY_HISTORY, { id })).verifyHistory).toEqual({
      keyId: id,
      intact: true,
      eventCount: 4,
      headLink: history[3].chainLink,
      firstBrokenVersion: null,
      firstBrokenEventId: null,
      problem: null,
    });
  });

  it('reports the first event edited in the store while the service runs', async () => {
    const owner = await newOwner();
    const { id } = await keyWithHistory(owner);
    const history = (await owner.call(HISTORY_WITH_CHAIN, { id })).apiKeyHistory;
    tamper(keyhub.dataDir, id, 1, (data) => ({ ...data, name: 'never happened' }));
    expect((await owner.call(VERIFY_HISTORY, { id })).verifyHistory).toMatchObject({
      intact: false,
      eventCount: 4,
      firstBrokenVersion: 2,
      firstBrokenEventId: history[1].id,
      problem: 'LINK_MISMATCH',
    });
  });

  it('catches an edit whose own link was recomputed, at the next event', async () => {
    const owner = await newOwner();
    const { id } = await keyWithHistory(owner);
    const history = (await owner.call(HISTORY_WITH_CHAIN, { id })).apiKeyHistory;
    tamper(keyhub.dataDir, id, 2, (data) => ({ ...data, status: 'ENABLED' }), (data, type) => chainLink(history[1].chainLink, { type, data, actor: owner.identity.sub }));
    expect((await owner.call(VERIFY_HISTORY, { id })).verifyHistory).toMatchObject({ intact: false, firstBrokenVersion: 4, problem: 'LINK_MISMATCH' });
  });

  it('reports an event whose actor was changed in the store', async () => {
    const owner = await newOwner();
    const { id } = await keyWithHistory(owner);
    const db = new Database(join(keyhub.dataDir, 'events.sqlite'));
    db.pragma('busy_timeout = 5000');
    try {
      db.prepare("UPDATE events SET metadata = json_set(metadata, '$.actor', 'someone-else') WHERE stream = ? AND revision = 2").run(`apiKey-${id}`);
    } finally {
      db.close();
    }
    expect((await owner.call(HISTORY_WITH_CHAIN, { id })).apiKeyHistory[2].actor).toBe('someone-else');
    expect((await owner.call(VERIFY_HISTORY, { id })).verifyHistory).toMatchObject({ intact: false, firstBrokenVersion: 3, problem: 'LINK_MISMATCH' });
  });

    it("answers NOT_FOUND for another account's key", async () => {
    const owner = await newOwner();
    const { id } = await keyWithHistory(owner);
    expect(errorOf(await (await newOwner()).raw(VERIFY_HISTORY, { id }))).toMatchObject({ code: 'NOT_FOUND' });
  });

  describe('with the service stopped', () => {
    let intact: { account: string; id: string; secrets: string[] };
    let broken: { account: string; id: string };
    let since: string;

    beforeAll(async () => {
      const first = await newOwner();
      intact = { account: first.identity.account, ...(await keyWithHistory(first)) };
      await new Promise((resolve) => setTimeout(resolve, 5));
      since = new Date().toISOString();
      await (await clientFor(keyhub.url, first.identity)).call(CREATE, { input: { name: 'later', acceptTerms: true } });
      const second = await newOwner();
      broken = { account: second.identity.account, ...(await keyWithHistory(second)) };
      await keyhub.stop();
      tamper(keyhub.dataDir, broken.id, 0, (data) => ({ ...data, ipAllowlist: ['0.0.0.0/0'] }));
    });
    afterAll(async () => {
      keyhub = await startKeyhubProcess({ dataDir: keyhub.dataDir });
    });

    it('npm run audit:verify reports the break and exits 1; an untouched account exits 0', async () => {
      const bad = await cli('auditVerify.js', ['--account', broken.account], keyhub.dataDir);
      expect(bad.code).toBe(1);
      expect(bad.stdout).toContain(`BROKEN  ${broken.id}  first event that does not match: version 1`);
      expect(bad.stdout).toContain('1 keys of account');
      const good = await cli('auditVerify.js', ['--account', intact.account], keyhub.dataDir);
      expect(good.code).toBe(0);
      expect(good.stdout).toMatch(new RegExp(`intact  ${intact.id}  4 events  head [0-9a-f]{64}`));
      expect(good.stdout).toContain('2 keys of account');
      expect(good.stderr).toContain('finding keys');
    });

    it('npm run audit:export streams every lifecycle event of the account as JSON Lines, never a secret or hash', async () => {
      const { code, stdout, stderr } = await cli('auditExport.js', ['--account', intact.account], keyhub.dataDir);
      expect(code).toBe(0);
      const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { keyId: string; type: string; version: number; cursor: string; chainLink: string; accountId: string });
      expect(lines.map((line) => line.type)).toEqual(['ApiKeyCreated', 'ApiKeyRenamed', 'ApiKeyStatusChanged', 'ApiKeyRotated', 'ApiKeyCreated']);
      expect(lines.every((line) => line.accountId === intact.account && /^\d+-\d+$/.test(line.cursor) && /^[0-9a-f]{64}$/.test(line.chainLink))).toBe(true);
      for (const secret of intact.secrets) expect(stdout).not.toContain(secret);
      expect(stdout).not.toContain('secretHash');
      expect(stderr).toMatch(/exporting .*100% of the log/);
      expect(stderr).toContain('exported 5 events');
    });

    it('exports as CSV, and only what happened since --since', async () => {
      const { code, stdout } = await cli('auditExport.js', ['--account', intact.account, '--format', 'csv', '--since', since], keyhub.dataDir);
      expect(code).toBe(0);
      const [header, ...rows] = stdout.trim().split('\n');
      expect(header).toBe('id,keyId,accountId,type,version,occurredAt,actor,cursor,chainLink,data');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toContain(',ApiKeyCreated,1,');
      expect(rows[0]).toContain('"{""name"":""later""');
    });

    it('refuses bad options with a usage line and exit code 2', async () => {
      const missing = await cli('auditExport.js', [], keyhub.dataDir);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('usage: npm run audit:export');
      expect((await cli('auditExport.js', ['--account', 'a', '--format', 'xml'], keyhub.dataDir)).stderr).toContain('--format must be jsonl or csv');
    });
  });
});

describe('History keyed with AUDIT_HMAC_KEY, against someone who can write the store', () => {
  const AUDIT_HMAC_KEY = 'an-audit-key-kept-outside-the-data-dir-0123456789';
  const keyId = auditKeyring(AUDIT_HMAC_KEY).current?.id as string;
  let keyhub: KeyhubProcess;
  let owner: Client;
  let id: string;
  const verify = async () => (await owner.call(`query($id: ID!) { verifyHistory(id: $id) { intact eventCount firstBrokenVersion problem unkeyedEventCount headLink } }`, { id })).verifyHistory;
  const links = async () => (await owner.call(HISTORY_WITH_CHAIN, { id })).apiKeyHistory.map((event: { chainLink: string }) => event.chainLink) as string[];
  /** Rewrites one event's data and recomputes its link and every later one, unkeyed: the best a store writer without the key can do. */
  function rewriteFrom(revision: number, edit: (data: Record<string, unknown>) => Record<string, unknown>) {
    const db = new Database(join(keyhub.dataDir, 'events.sqlite'));
    try {
      const rows = db.prepare('SELECT revision, type, data, metadata FROM events WHERE stream = ? ORDER BY revision').all(`apiKey-${id}`) as Array<{ revision: number; type: string; data: string; metadata: string }>;
      let previous: string | null = revision === 0 ? null : (JSON.parse((rows[revision - 1] as { metadata: string }).metadata) as { chainLink: string }).chainLink;
      for (const row of rows.slice(revision)) {
        const data = row.revision === revision ? edit(JSON.parse(row.data) as Record<string, unknown>) : (JSON.parse(row.data) as Record<string, unknown>);
        const metadata = JSON.parse(row.metadata) as { chainLink: string; actor: string };
        metadata.chainLink = chainLink(previous, { type: row.type, data, actor: metadata.actor });
        previous = metadata.chainLink;
        db.prepare('UPDATE events SET data = ?, metadata = ? WHERE stream = ? AND revision = ?').run(JSON.stringify(data), JSON.stringify(metadata), `apiKey-${id}`, row.revision);
      }
    } finally {
      db.close();
    }
  }

  beforeAll(async () => {
    // A history written before the key was configured…
    keyhub = await startKeyhubProcess();
    owner = await ownerOf(keyhub.url, 'auditor');
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'audited', acceptTerms: true } })).createApiKey;
    id = apiKey.id;
    await owner.call(RENAME, { id, name: 'audited 2' });
    await keyhub.stop();
    // …then the service restarted with it.
    keyhub = await startKeyhubProcess({ dataDir: keyhub.dataDir, env: { AUDIT_HMAC_KEY } });
    owner = await clientFor(keyhub.url, owner.identity);
  });
  afterAll(async () => {
    await keyhub.stop();
  });

  it('still verifies the history written without the key, and keys every new link', async () => {
    expect(await verify()).toMatchObject({ intact: true, eventCount: 2, unkeyedEventCount: 2 });
    await owner.call(SET_STATUS, { id, status: 'DISABLED' });
    await owner.call(RENAME, { id, name: 'audited 3' });
    const chain = await links();
    expect(chain.slice(0, 2).every((link) => /^[0-9a-f]{64}$/.test(link))).toBe(true);
    expect(chain.slice(2).every((link) => new RegExp(`^hmac-sha256:${keyId}:[0-9a-f]{64}$`).test(link))).toBe(true);
    expect(await verify()).toMatchObject({ intact: true, eventCount: 4, unkeyedEventCount: 2, headLink: chain[3] });
  });

  it('catches an event rewritten with every later link recomputed, in the API and in audit:verify with the key', async () => {
    rewriteFrom(3, (data) => ({ ...data, name: 'never happened' })); // after the first keyed event
    expect(await verify()).toMatchObject({ intact: false, firstBrokenVersion: 4, problem: 'UNKEYED_LINK' });
    const audit = await cli('auditVerify.js', ['--account', owner.identity.account], keyhub.dataDir, { AUDIT_HMAC_KEY });
    expect(audit.code).toBe(1);
    expect(audit.stdout).toContain(`audit key: ${keyId}`);
    expect(audit.stdout).toContain(`BROKEN  ${id}  first event that does not match: version 4 (event`);
    expect(audit.stdout).toContain('UNKEYED_LINK');
  });

  it('shows a history rewritten whole without the key as unkeyed, which is a break where keyed links are required', async () => {
    const { apiKey } = (await owner.call(CREATE, { input: { name: 'second', acceptTerms: true } })).createApiKey;
    id = apiKey.id;
    await owner.call(RENAME, { id, name: 'second 2' });
    expect(await verify()).toMatchObject({ intact: true, unkeyedEventCount: 0 });
    // Every link of this key was keyed; rewritten from the first, unkeyed, the chain holds, but says it is unkeyed…
    rewriteFrom(0, (data) => ({ ...data, ipAllowlist: ['0.0.0.0/0'] }));
    expect(await verify()).toMatchObject({ intact: true, unkeyedEventCount: 2 });
    // …and where every history was written with the key, an unkeyed link is a break.
    for (const [args, env] of [[['--require-keyed'], { AUDIT_HMAC_KEY }], [[], { AUDIT_HMAC_KEY, AUDIT_HMAC_REQUIRED: 'true' }]] as const) {
      const strict = await cli('auditVerify.js', ['--account', owner.identity.account, ...args], keyhub.dataDir, env);
      expect(strict.code).toBe(1);
      expect(strict.stdout).toContain(`BROKEN  ${id}  first event that does not match: version 1`);
    }
  });
});

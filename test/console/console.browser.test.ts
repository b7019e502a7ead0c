import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page, WebSocketRoute } from 'playwright-core';
import { SignJWT } from 'jose';
import { launchChromium } from '../support/browser';
import type { KeyhubProcess } from '../support/keyhubProcess';
import { startKeyhubProcess } from '../support/keyhubProcess';
import { gql } from '../support/graphqlClient';
import { REPORT_LEAK } from '../support/keyCareOperations';
import { CREATE, DELETE, DESCRIBE, RENAME, SET_LIMIT, SET_STATUS, VERIFY } from '../support/operations';

/**
 * The console (console/) driven in headless Chromium against the real built server (what
 * `npm start` runs) with a fresh DATA_DIR and no JWT_SECRET, so it prints its sign-in link.
 * Controls are found by role and accessible name, as a person using a screen reader would.
 */
const SCREENSHOTS = join(__dirname, '..', '..', 'dist', 'screenshots');
jest.setTimeout(60_000);

// page.evaluate takes expressions as strings here: the project's type-check has no DOM types.

/** Polls until `check` passes (Playwright's own expect is not part of playwright-core). */
async function eventually(check: () => Promise<void> | void, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const rowOf = (page: Page, name: string): Locator =>
  page.getByRole('row').filter({ has: page.getByRole('rowheader', { name, exact: true }) });

/** The text of a row's cell under the column whose header starts with `column`. */
async function cellOf(page: Page, name: string, column: string): Promise<string> {
  const headers = await page.getByRole('columnheader').allTextContents();
  const index = headers.findIndex((header) => header.startsWith(column));
  if (index < 0) throw new Error(`no column ${column} in ${headers.join(' | ')}`);
  const cells = rowOf(page, name).locator('th, td');
  return ((await cells.nth(index).textContent()) ?? '').trim();
}

async function openAction(page: Page, keyName: string, action: string): Promise<void> {
  await page.getByRole('button', { name: `Actions for ${keyName}` }).click();
  await page.getByRole('menuitem', { name: action }).click();
}

describe('The console in a browser', () => {
  let keyhub: KeyhubProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let link: string;
  let devSecret: string;
  let token: string;
  const created: { secret?: string; id?: string } = {};
  const limitedKey: { secret?: string; id?: string } = {};
  // What the page itself got wrong: script errors and anything the Content-Security-Policy blocked.
  const pageProblems: string[] = [];

  const api = (query: string, variables: Record<string, unknown> = {}) => gql(keyhub.url, token, query, variables);
  const sign = (claims: { sub: string; account: string; roles: string[] }, exp: number) =>
    new SignJWT({ account: claims.account, roles: claims.roles })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.sub)
      .setIssuedAt(Math.min(exp - 60, Math.floor(Date.now() / 1000)))
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(devSecret));
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    // No JWT_SECRET: keyhub makes a development secret and prints the console link, as on a newcomer's first start.
    const catalog = join(mkdtempSync(join(tmpdir(), 'keyhub-catalog-')), 'catalog.json');
    writeFileSync(catalog, JSON.stringify({ models: ['qwen-max', 'qwen-plus'], services: ['chat', 'embeddings'] }));
    [keyhub, browser] = await Promise.all([startKeyhubProcess({ env: { JWT_SECRET: '', TRUST_PROXY: 'loopback', USAGE_FLUSH_MS: '100', SCOPE_CATALOG_FILE: catalog } }), launchChromium()]);
    await eventually(() => {
      const match = /(http:\/\/\S+\/#token=[A-Za-z0-9._-]+)/.exec(keyhub.output());
      if (!match?.[1]) throw new Error(`no console link in the log:\n${keyhub.output()}`);
      link = match[1];
    });
    token = link.split('#token=')[1] as string;
    devSecret = readFileSync(join(keyhub.dataDir, 'jwt-secret'), 'utf8').trim();
    context = await browser.newContext({ timezoneId: 'Asia/Shanghai', locale: 'en-US', viewport: { width: 1360, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: keyhub.baseUrl });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) pageProblems.push(`CSP: ${message.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await keyhub?.stop();
  });

  it('signs in from the link keyhub printed, forgets the fragment, and explains keys when there are none', async () => {
    expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    await page.goto(link);
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    expect(new URL(page.url()).hash).toBe('');
    expect(await page.evaluate('sessionStorage.getItem("keyhub.token")')).toBe(token);
    await page.getByRole('heading', { name: 'No API keys yet' }).waitFor();
    await page.getByText('0 of 50 keys').waitFor();
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await shot('empty');
  });

  it('creates a key: rules checked as you type, errors next to their field, OK gated by the terms, the secret shown once', async () => {
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    const name = dialog.getByRole('textbox', { name: 'Name' });
    const ok = dialog.getByRole('button', { name: 'OK' });

    await name.fill('a');
    await dialog.getByText('The name must be 2 to 64 characters long.').waitFor();
    expect(await name.getAttribute('aria-invalid')).toBe('true');
    await name.fill('bad  name!');
    await dialog.getByText('Only letters, digits, _ and -, with single spaces between words.').waitFor();
    await name.fill('prod text-service_1'); // letters of any script
    await eventually(async () => expect(await name.getAttribute('aria-invalid')).toBe('false'));
    await name.fill('prod text-service_1');
    await eventually(async () => expect(await name.getAttribute('aria-invalid')).toBe('false'));

    const allowlist = dialog.getByRole('textbox', { name: 'IP allowlist (one per line, optional)' });
    await allowlist.fill('10.0.0.0/8\nnot-an-ip\n192.168.1.7');
    await dialog.getByText('Line 2: not an IP address or CIDR range.').waitFor();
    await allowlist.fill('10.0.0.0/8\n192.168.1.7');
    await dialog.getByRole('textbox', { name: 'Description (optional)' }).fill('Production text service');

    // A rule only the server checks (at most 100 scope entries) comes back as BAD_USER_INPUT with its field, shown there.
    await dialog.getByRole('radio', { name: /^Range/ }).check();
    const models = dialog.getByRole('textbox', { name: 'Models (one per line)' });
    await models.fill(Array.from({ length: 101 }, (_, index) => `model-${index}`).join('\n'));

    expect(await ok.isDisabled()).toBe(true);
    await dialog.getByRole('checkbox', { name: 'I have agreed to the agreement and understand the associated risks' }).check();
    expect(await ok.isEnabled()).toBe(true);
    await shot('create');
    await ok.click();
    await dialog.getByText('at most 100 entries').waitFor();
    expect(await models.getAttribute('aria-invalid')).toBe('true');

    await models.fill('qwen-*\ngpt-4o-mini');
    await ok.click();
    const secretDialog = page.getByRole('alertdialog', { name: 'Save your API key' });
    await secretDialog.getByText('This is the only time the full key is shown').waitFor();
    const secret = await secretDialog.getByRole('textbox', { name: /^Secret/ }).inputValue();
    expect(secret).toMatch(/^sk-/);
    created.secret = secret;
    await shot('secret');

    // Closing without copying asks first.
    await secretDialog.getByRole('button', { name: 'Close' }).click();
    await secretDialog.getByText('Close without copying?').waitFor();
    await secretDialog.getByRole('button', { name: 'Go back' }).click();
    await secretDialog.getByRole('button', { name: 'Copy secret' }).click();
    await eventually(async () => expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret));
    await secretDialog.getByRole('button', { name: 'Close' }).click();
    await secretDialog.waitFor({ state: 'detached' });
  });

  it('lists the key: masked, "-" for never used, then the time of a verification made through the API, in the viewer\'s zone', async () => {
    const row = rowOf(page, 'prod text-service_1');
    await row.waitFor();
    expect(await page.getByRole('columnheader', { name: 'Created (UTC+8)' }).count()).toBe(1);
    const masked = await cellOf(page, 'prod text-service_1', 'API key');
    expect(masked).toBe(`${created.secret!.slice(0, 5)}***${created.secret!.slice(-4)}`);
    expect(await cellOf(page, 'prod text-service_1', 'Last used')).toBe('-');
    expect(await cellOf(page, 'prod text-service_1', 'Access scope')).toBe('Range (2)');
    expect(await cellOf(page, 'prod text-service_1', 'Description')).toBe('Production text service');
    created.id = await cellOf(page, 'prod text-service_1', 'ID').then((text) => text.replace(/Copy$|Copied$/, '').trim());
    await page.getByText('1 of 50 keys').waitFor();

    const verification = await api(VERIFY, { key: created.secret, clientIp: '10.1.2.3', model: 'qwen-max' });
    expect(verification.data.verifyApiKey.valid).toBe(true);
    await eventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      expect(await cellOf(page, 'prod text-service_1', 'Last used')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    });
  });

  it('disables with the status switch, and the next /auth of that key is refused', async () => {
    const toggle = page.getByRole('switch', { name: 'Enabled: prod text-service_1' });
    expect(await toggle.getAttribute('aria-checked')).toBe('true');
    // What a gateway in front of a model asks (forward auth): this client, this model.
    const gatewayAsks = () =>
      fetch(`${keyhub.baseUrl}/auth`, { headers: { authorization: `Bearer ${created.secret}`, 'x-forwarded-for': '10.1.2.3', 'x-model': 'qwen-max' } });
    expect((await gatewayAsks()).status).toBe(200);
    await toggle.click();
    await eventually(async () => expect(await toggle.getAttribute('aria-checked')).toBe('false'));
    const after = await gatewayAsks();
    expect(after.status).toBe(403);
    expect(after.headers.get('x-auth-failure')).toBe('DISABLED');
  });

  it('shows changes made elsewhere through the API (rename, enable, leak report, creation, deletion) without a refresh', async () => {
    const renamed = await api(RENAME, { id: created.id, name: 'renamed-elsewhere' });
    expect(renamed.errors).toBeUndefined();
    await rowOf(page, 'renamed-elsewhere').waitFor({ timeout: 3000 });
    await api(SET_STATUS, { id: created.id, status: 'ENABLED' });
    await eventually(async () => expect(await page.getByRole('switch', { name: 'Enabled: renamed-elsewhere' }).getAttribute('aria-checked')).toBe('true'), 3000);

    // Created, reported as leaked (by anyone, without a login) and deleted elsewhere.
    const leaky = (await api(CREATE, { input: { name: 'leaky', acceptTerms: true } })).data.createApiKey;
    await rowOf(page, 'leaky').waitFor({ timeout: 3000 });
    expect((await gql(keyhub.url, null, REPORT_LEAK, { secret: leaky.secret })).data.reportLeakedKey.received).toBe(true);
    await eventually(async () => expect(await page.getByRole('switch', { name: 'Enabled: leaky' }).getAttribute('aria-checked')).toBe('false'), 3000);
    // Why it is off: its history says the leak report did it.
    await openAction(page, 'leaky', 'History');
    const history = page.getByRole('dialog', { name: 'History of leaky' });
    await history.getByRole('cell', { name: 'ApiKeyStatusChanged: disabled, reported as leaked' }).waitFor();
    await history.getByRole('button', { name: 'Close' }).click();
    await history.waitFor({ state: 'detached' });
    expect((await api(DELETE, { id: leaky.apiKey.id })).errors).toBeUndefined();
    await rowOf(page, 'leaky').waitFor({ state: 'detached', timeout: 3000 });
  });

  it('after its live connection drops, resubscribes from the last cursor and catches up with what it missed', async () => {
    const live = await context.newPage();
    live.setDefaultTimeout(10_000);
    // The page's WebSocket goes through the test, which records what the page subscribes with and can cut the line.
    const sockets: Array<{ page: WebSocketRoute; server: WebSocketRoute }> = [];
    const subscriptions: Array<{ after: unknown }> = [];
    await live.routeWebSocket(/\/graphql$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((message) => {
        const parsed = JSON.parse(String(message)) as { type: string; payload?: { variables?: { after?: unknown } } };
        if (parsed.type === 'subscribe') subscriptions.push({ after: parsed.payload?.variables?.after ?? null });
        server.send(message);
      });
      server.onMessage((message) => ws.send(message));
      sockets.push({ page: ws, server });
    });
    try {
      await live.goto(link);
      await rowOf(live, 'renamed-elsewhere').waitFor();
      await eventually(() => expect(subscriptions).toEqual([{ after: null }]));
      // One event through the feed, so the page holds a cursor.
      await api(RENAME, { id: created.id, name: 'before-the-drop' });
      await rowOf(live, 'before-the-drop').waitFor({ timeout: 3000 });

      const first = sockets[0]!;
      await first.server.close({ code: 4000, reason: 'test: network drop' });
      await first.page.close({ code: 4000, reason: 'test: network drop' });
      await api(RENAME, { id: created.id, name: 'renamed-elsewhere' }); // while the page is disconnected

      await eventually(() => expect(subscriptions).toHaveLength(2), 5000);
      expect(subscriptions[1]!.after).toEqual(expect.any(String));
      await rowOf(live, 'renamed-elsewhere').waitFor({ timeout: 3000 });
    } finally {
      await live.close();
    }
  });

  it('renames, and on a concurrent change says "changed elsewhere" with the fresh values, then retries', async () => {
    await openAction(page, 'renamed-elsewhere', 'Edit name');
    const dialog = page.getByRole('dialog', { name: 'Edit name of renamed-elsewhere' });
    await dialog.getByRole('textbox', { name: 'Name' }).fill('mine');
    await api(RENAME, { id: created.id, name: 'theirs' }); // someone else, meanwhile
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('This key was changed elsewhere. Reload and retry.').waitFor();
    await dialog.getByText(/Current values: name “theirs”/).waitFor();
    await dialog.getByRole('button', { name: 'Reload' }).click();
    expect(await dialog.getByRole('textbox', { name: 'Name' }).inputValue()).toBe('theirs');
    await dialog.getByRole('textbox', { name: 'Name' }).fill('mine');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await rowOf(page, 'mine').waitFor();
  });

  it('edits description, scope and allowlist', async () => {
    await openAction(page, 'mine', 'Edit description, scope, allowlist, limits and metadata');
    const dialog = page.getByRole('dialog', { name: 'Edit mine' });
    await dialog.getByText('The new scope takes precedence').waitFor();
    await dialog.getByRole('textbox', { name: 'Description (optional)' }).fill('now for chat');
    const models = dialog.getByRole('textbox', { name: 'Models (one per line)' });
    await models.fill('qwen-*');
    // The operator's catalog (SCOPE_CATALOG_FILE, through scopeCatalog) offers its ids as checkboxes beside the free entry.
    await dialog.getByRole('group', { name: 'Models this platform offers' }).getByRole('checkbox', { name: 'qwen-max' }).check();
    expect(await models.inputValue()).toBe('qwen-*\nqwen-max');
    await dialog.getByRole('group', { name: 'Models this platform offers' }).getByRole('checkbox', { name: 'qwen-max' }).uncheck();
    expect(await models.inputValue()).toBe('qwen-*');
    await dialog.getByRole('group', { name: 'Services this platform offers' }).getByRole('checkbox', { name: 'chat' }).check();
    expect(await dialog.getByRole('textbox', { name: 'Services (one per line)' }).inputValue()).toBe('chat');
    await dialog.getByRole('textbox', { name: 'IP allowlist (one per line, optional)' }).fill('');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await eventually(async () => expect(await cellOf(page, 'mine', 'Access scope')).toBe('Range (2)'));
    expect(await cellOf(page, 'mine', 'Description')).toBe('now for chat');
  });

  it('sets limits and metadata when creating and editing, each error next to its field', async () => {
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    await dialog.getByRole('textbox', { name: 'Name' }).fill('limited');
    const limits = dialog.getByRole('group', { name: 'Limits (optional)' });
    const tokensPerDay = limits.getByRole('textbox', { name: 'Tokens per day' });
    const metadata = dialog.getByRole('textbox', { name: 'Metadata (optional JSON object)' });
    await tokensPerDay.fill('0');
    await limits.getByText('A whole number from 1 to 2147483647, or empty for no limit.').waitFor();
    expect(await tokensPerDay.getAttribute('aria-invalid')).toBe('true');
    await tokensPerDay.fill('100000');
    await metadata.fill('[1, 2]');
    await dialog.getByText('Must be a JSON object, e.g. {"team": "search"}.').waitFor();
    // Over 1 KB: only the server measures it, and its BAD_USER_INPUT (field "metadata") sits next to the field.
    await metadata.fill(JSON.stringify({ note: 'x'.repeat(1100) }));
    await dialog.getByRole('checkbox', { name: /I have agreed/ }).check();
    await dialog.getByRole('button', { name: 'OK' }).click();
    await dialog.getByText(/metadata must be at most 1024 bytes/).waitFor();
    expect(await metadata.getAttribute('aria-invalid')).toBe('true');

    // A limit the server refuses (a console older than the server's rules, simulated by rewriting the request):
    // its extensions.field, limits.tokensPerDay, puts the message next to "Tokens per day".
    await metadata.fill('{"team": "search", "plan": "pro"}');
    await page.route('**/graphql', async (route) => {
      const body = route.request().postDataJSON() as { variables?: { input?: { limits?: Record<string, unknown> } } } | null;
      if (body?.variables?.input?.limits) body.variables.input.limits['tokensPerDay'] = 0;
      await route.continue({ postData: JSON.stringify(body) });
    });
    try {
      await dialog.getByRole('button', { name: 'OK' }).click();
      await limits.getByText(/tokensPerDay must be a whole number/).waitFor();
      expect(await tokensPerDay.getAttribute('aria-invalid')).toBe('true');
    } finally {
      await page.unroute('**/graphql');
    }
    await tokensPerDay.fill('');
    await tokensPerDay.fill('100000');
    await dialog.getByRole('button', { name: 'OK' }).click();
    const secretDialog = page.getByRole('alertdialog', { name: 'Save your API key' });
    limitedKey.secret = await secretDialog.getByRole('textbox', { name: /^Secret/ }).inputValue();
    await secretDialog.getByRole('button', { name: 'Copy secret' }).click();
    await secretDialog.getByRole('button', { name: 'Close' }).click();
    await rowOf(page, 'limited').waitFor();
    limitedKey.id = await cellOf(page, 'limited', 'ID').then((text) => text.replace(/Copy$|Copied$/, '').trim());
    const stored = async () => (await api(`query($id: ID!) { apiKey(id: $id) { limits { requestsPerMinute tokensPerDay } metadata } }`, { id: limitedKey.id })).data.apiKey;
    expect(await stored()).toEqual({ limits: { requestsPerMinute: null, tokensPerDay: 100000 }, metadata: { team: 'search', plan: 'pro' } });

    // Edit: the dialog starts from the key's values; one limit set, one cleared, metadata replaced.
    await openAction(page, 'limited', 'Edit description, scope, allowlist, limits and metadata');
    const edit = page.getByRole('dialog', { name: 'Edit limited' });
    expect(await edit.getByRole('textbox', { name: 'Tokens per day' }).inputValue()).toBe('100000');
    expect(JSON.parse(await edit.getByRole('textbox', { name: 'Metadata (optional JSON object)' }).inputValue())).toEqual({ team: 'search', plan: 'pro' });
    await edit.getByRole('textbox', { name: 'Requests per minute' }).fill('2');
    await edit.getByRole('textbox', { name: 'Tokens per day' }).fill('');
    await edit.getByRole('textbox', { name: 'Metadata (optional JSON object)' }).fill('{"team": "ads"}');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'detached' });
    expect(await stored()).toEqual({ limits: { requestsPerMinute: 2, tokensPerDay: null }, metadata: { team: 'ads' } });
  });

  it('charts a key\'s requests, denials and tokens over the last day and week, with the numbers as text and a table', async () => {
    // Through the API, as a gateway would: verifications until the limit of 2 a minute denies one, and a token report.
    let valid = 0;
    for (let attempt = 0; attempt < 6; attempt++) {
      const answer = (await api(VERIFY, { key: limitedKey.secret })).data.verifyApiKey;
      if (!answer.valid) {
        expect(answer.reason).toBe('RATE_LIMITED');
        break;
      }
      valid++;
    }
    expect(valid).toBeGreaterThanOrEqual(2); // 2, or more when a minute turned over meanwhile
    const report = await fetch(`${keyhub.baseUrl}/usage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entries: [{ keyId: limitedKey.id, promptTokens: 30, completionTokens: 12 }] }),
    });
    expect(await report.json()).toEqual({ recorded: 1, rejected: 0 });

    await openAction(page, 'limited', 'Usage');
    const dialog = page.getByRole('dialog', { name: 'Usage of limited' });
    // The counts reach the read model with the next flush (USAGE_FLUSH_MS is 100 here): refresh until they show.
    await eventually(async () => {
      await dialog.getByRole('button', { name: 'Refresh' }).click();
      await dialog.getByRole('status').filter({ hasText: `Last 24 hours: ${valid} requests, 1 denied, 42 tokens` }).waitFor({ timeout: 300 });
    });
    await dialog.locator('.usage-chart canvas').first().waitFor(); // uPlot, loaded with the dialog, drew it
    await shot('usage');

    // The same numbers, bucket by bucket, in the table (24 hourly rows, oldest first).
    await dialog.getByText('Show the numbers as a table').click();
    const table = dialog.getByRole('table', { name: 'Use of limited per time bucket' });
    const columnSum = async (column: number) =>
      (await table.getByRole('row').evaluateAll((rows, index) => rows.slice(1).map((row) => Number(row.children[index]?.textContent ?? 'NaN')), column)).reduce((sum, value) => sum + value, 0);
    expect(await table.getByRole('row').count()).toBe(1 + 24);
    expect([await columnSum(1), await columnSum(2), await columnSum(3), await columnSum(4)]).toEqual([valid, 1, 30, 12]);

    await dialog.getByRole('combobox', { name: 'Period' }).selectOption({ label: 'Last 7 days' });
    await dialog.getByRole('status').filter({ hasText: `Last 7 days: ${valid} requests, 1 denied, 42 tokens` }).waitFor();
    await eventually(async () => expect(await table.getByRole('row').count()).toBe(1 + 7));
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.waitFor({ state: 'detached' });

    expect((await api(DELETE, { id: limitedKey.id })).errors).toBeUndefined();
    await rowOf(page, 'limited').waitFor({ state: 'detached' });
  });

  it('rotates with a grace period, showing the new secret once', async () => {
    await openAction(page, 'mine', 'Rotate secret');
    const dialog = page.getByRole('dialog', { name: 'Rotate secret of mine' });
    await dialog.getByRole('combobox', { name: 'Grace period for the previous secret' }).selectOption({ label: '1 hour' });
    await dialog.getByRole('button', { name: 'Rotate' }).click();
    const secretDialog = page.getByRole('alertdialog', { name: 'Save your API key' });
    const secret = await secretDialog.getByRole('textbox', { name: /^Secret/ }).inputValue();
    expect(secret).toMatch(/^sk-/);
    expect(secret).not.toBe(created.secret);
    await secretDialog.getByText(/The previous secret keeps working until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(UTC\+8\)/).waitFor();
    await secretDialog.getByRole('button', { name: 'Copy secret' }).click();
    await secretDialog.getByRole('button', { name: 'Close' }).click();
    await eventually(async () => expect(await cellOf(page, 'mine', 'API key')).toBe(`${secret.slice(0, 5)}***${secret.slice(-4)}`));
  });

  it('sets and clears an expiry', async () => {
    await openAction(page, 'mine', 'Set or clear expiry');
    let dialog = page.getByRole('dialog', { name: 'Expiry of mine' });
    await dialog.getByLabel('Expires at (optional, your time zone)').fill('2099-01-02T03:04');
    await dialog.getByRole('button', { name: 'Set expiry' }).click();
    await dialog.waitFor({ state: 'detached' });
    await eventually(async () => expect(await cellOf(page, 'mine', 'Expires')).toBe('2099-01-02 03:04:00'));
    await openAction(page, 'mine', 'Set or clear expiry');
    dialog = page.getByRole('dialog', { name: 'Expiry of mine' });
    await dialog.getByRole('button', { name: 'Remove expiry' }).click();
    await eventually(async () => expect(await cellOf(page, 'mine', 'Expires')).toBe('Never'));
  });

  it('shows the history with actors and verifies its hash chain', async () => {
    await openAction(page, 'mine', 'History');
    const dialog = page.getByRole('dialog', { name: 'History of mine' });
    await dialog.getByRole('cell', { name: 'ApiKeyCreated' }).waitFor();
    const types = await dialog.getByRole('row').allTextContents();
    expect(types.join('\n')).toMatch(/ApiKeyRenamed/);
    expect(types.join('\n')).toMatch(/local-developer/);
    await dialog.getByRole('button', { name: 'Verify history' }).click();
    await dialog.getByText(/^Intact: all \d+ events match their hash chain\.$/).waitFor();
    await shot('history');
    await dialog.getByRole('button', { name: 'Close' }).click();
  });

  it('searches, filters by status and by long non-use, orders, and pages', async () => {
    for (let index = 1; index <= 11; index++) {
      const response = await api(CREATE, { input: { name: `batch-${String(index).padStart(2, '0')}`, acceptTerms: true, region: index % 2 ? 'cn-hangzhou' : 'us-east-1' } });
      expect(response.errors).toBeUndefined();
    }
    await page.getByText('Page 1 · 12 keys').waitFor();
    expect(await page.getByRole('rowheader').count()).toBe(10);
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('Page 2 · 12 keys').waitFor();
    await eventually(async () => expect(await page.getByRole('rowheader').count()).toBe(2));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByText('Page 1 · 12 keys').waitFor();

    await page.getByRole('combobox', { name: 'Sort by' }).selectOption({ label: 'Name A–Z' });
    await eventually(async () => expect(await page.getByRole('rowheader').first().textContent()).toBe('batch-01'));
    await page.getByRole('button', { name: 'Next page' }).click();
    await eventually(async () => expect(await page.getByRole('rowheader').allTextContents()).toEqual(['batch-11', 'mine']));
    await page.getByRole('button', { name: 'Previous page' }).click();
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption({ label: 'Recently used' });
    await eventually(async () => expect(await page.getByRole('rowheader').first().textContent()).toBe('mine'));
    const neverUsed = (await page.getByRole('rowheader').nth(1).textContent()) as string;
    expect(await cellOf(page, neverUsed, 'Last used')).toBe('-');
    await shot('list');

    // Names in any script, searched as typed (created after the screenshot: the bundled Chromium has no CJK font).
    expect((await api(CREATE, { input: { name: '批量 密钥', acceptTerms: true } })).errors).toBeUndefined();
    await page.getByRole('searchbox', { name: 'Search name or description' }).fill('密钥');
    await eventually(async () => expect(await page.getByRole('rowheader').allTextContents()).toEqual(['批量 密钥']));

    await page.getByRole('searchbox', { name: 'Search name or description' }).fill('chat');
    await eventually(async () => expect(await page.getByRole('rowheader').allTextContents()).toEqual(['mine']));
    await page.getByRole('searchbox', { name: 'Search name or description' }).fill('');

    await api(SET_STATUS, { id: created.id, status: 'DISABLED' });
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'Disabled' });
    await eventually(async () => expect(await page.getByRole('rowheader').allTextContents()).toEqual(['mine']));
    await page.getByRole('combobox', { name: 'Status' }).selectOption({ label: 'All' });

    // Unused for at least 1 day: the never-used keys, not the one verified a moment ago.
    await page.getByRole('spinbutton', { name: 'Unused for at least (days)' }).fill('1');
    await eventually(async () => expect(await page.getByText('Page 1 · 12 keys').count()).toBe(1));
    expect(await page.getByRole('rowheader', { name: 'mine', exact: true }).count()).toBe(0);
    await page.getByRole('spinbutton', { name: 'Unused for at least (days)' }).fill('');

    // Region: the list shows the selected region's keys, and new keys are created there.
    await page.getByRole('combobox', { name: 'Region' }).selectOption('us-east-1');
    await eventually(async () => expect(await page.getByRole('rowheader').count()).toBe(5));
    await page.getByRole('button', { name: 'Create API key' }).first().click();
    const dialog = page.getByRole('dialog', { name: 'Create API key' });
    expect(await dialog.getByRole('combobox', { name: 'Region' }).inputValue()).toBe('us-east-1');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('combobox', { name: 'Region' }).selectOption({ label: 'All regions' });
    await page.getByRole('combobox', { name: 'Sort by' }).selectOption({ label: 'Newest first' });
    await page.getByText('Page 1 · 13 keys').waitFor();
    await eventually(async () => expect(await page.getByRole('rowheader').first().textContent()).toBe('批量 密钥'));
  });

  it('says QUOTA_EXCEEDED with the limit when the account is full', async () => {
    expect((await api(SET_LIMIT, { accountId: 'local', limit: 13 })).errors).toBeUndefined();
    try {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByText('13 of 13 keys').waitFor();
      await page.getByRole('button', { name: 'Create API key' }).first().click();
      const dialog = page.getByRole('dialog', { name: 'Create API key' });
      await dialog.getByRole('textbox', { name: 'Name' }).fill('one too many');
      await dialog.getByRole('checkbox', { name: /I have agreed/ }).check();
      await dialog.getByRole('button', { name: 'OK' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'You have reached your limit of 13 keys.' }).waitFor();
      await dialog.getByRole('button', { name: 'Cancel' }).click();
    } finally {
      await api(SET_LIMIT, { accountId: 'local', limit: 50 });
    }
  });

  it('is usable from the keyboard: the actions menu and dialogs open, move and close with keys', async () => {
    const actions = page.getByRole('button', { name: 'Actions for batch-05' });
    await actions.focus();
    await page.keyboard.press('ArrowDown');
    const menu = page.getByRole('menu', { name: 'Actions for batch-05' });
    await eventually(async () => expect(await menu.getByRole('menuitem', { name: 'Edit name' }).evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true));
    await page.keyboard.press('ArrowUp'); // wraps to the last item
    expect(await menu.getByRole('menuitem', { name: 'Delete' }).evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Escape');
    await menu.waitFor({ state: 'detached' });
    expect(await actions.evaluate((element) => element === element.ownerDocument.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter'); // the focused first item: Edit name
    const dialog = page.getByRole('dialog', { name: 'Edit name of batch-05' });
    await dialog.waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('deletes after a confirmation that names the key', async () => {
    await page.getByRole('searchbox', { name: 'Search name or description' }).fill('mine');
    await eventually(async () => expect(await page.getByRole('rowheader').allTextContents()).toEqual(['mine']));
    await openAction(page, 'mine', 'Delete');
    const dialog = page.getByRole('alertdialog', { name: 'Delete API key “mine”?' });
    await dialog.getByText('All requests using “mine” will fail at once. This cannot be undone.').waitFor();
    await shot('delete');
    await dialog.getByRole('button', { name: 'Delete key' }).click();
    await dialog.waitFor({ state: 'detached' });
    await eventually(async () => expect(await page.getByRole('rowheader', { name: 'mine', exact: true }).count()).toBe(0));
    await page.getByText('12 of 50 keys').waitFor();
    await page.getByText('No keys match these filters.').waitFor();
    await page.getByRole('searchbox', { name: 'Search name or description' }).fill('');
    const auth = await fetch(`${keyhub.baseUrl}/auth`, { headers: { authorization: `Bearer ${created.secret}` } });
    expect(auth.status).toBe(401);
  });

  it('shows a banner while keyhub cannot be reached, which clears itself', async () => {
    await context.setOffline(true);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('alert').filter({ hasText: 'Connection to keyhub lost' }).waitFor();
    await context.setOffline(false);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByRole('alert').filter({ hasText: 'Connection to keyhub lost' }).waitFor({ state: 'detached' });
  });

  it('mounts in a platform page with the platform token (embedding), without a sign-in of its own', async () => {
    const manifest = (await (await fetch(`${keyhub.baseUrl}/.vite/manifest.json`)).json()) as Record<string, { file: string; css: string[] }>;
    const entry = manifest['index.html']!;
    const host = await context.newPage();
    host.setDefaultTimeout(10_000);
    try {
      // A page of the platform on the same origin (as behind its reverse proxy).
      await host.route(`${keyhub.baseUrl}/platform.html`, (route) =>
        route.fulfill({
          contentType: 'text/html',
          body: `<!doctype html><link rel="stylesheet" href="/${entry.css[0]}"><h1>Platform</h1><div id="keyhub-console" data-embedded></div>
            <script type="module" src="/${entry.file}"></script>
            <script type="module">window.keyhubConsole.mount(document.getElementById('keyhub-console'), { getToken: async () => ${JSON.stringify(token)}, locale: 'en' });</script>`,
        }),
      );
      await host.goto(`${keyhub.baseUrl}/platform.html`);
      await host.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
      await host.getByRole('rowheader', { name: 'batch-05', exact: true }).waitFor();
      expect(await host.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    } finally {
      await host.close();
    }
  });

  it('switches to Chinese (zh-CN)', async () => {
    await page.getByRole('combobox', { name: 'Language' }).selectOption('zh-CN');
    await page.getByRole('heading', { name: 'API 密钥', level: 1 }).waitFor();
    await page.getByRole('button', { name: '创建 API 密钥' }).first().waitFor();
    await page.getByRole('columnheader', { name: '创建时间（UTC+8）' }).waitFor();
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await shot('list-zh-CN');
    await page.getByRole('combobox', { name: '语言' }).selectOption('en');
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  });

  it('signs out, refuses a wrong token on the sign-in screen, and signs in with a typed one', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to keyhub' }).waitFor();
    expect(await page.evaluate('sessionStorage.getItem("keyhub.token")')).toBeNull();
    const field = page.getByLabel('Access token');
    await field.fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was refused: it is invalid or has expired.').waitFor();
    await shot('sign-in');
    await field.fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
  });

  it('sends an expired token back to sign-in, never to a blank page', async () => {
    const other = await context.newPage();
    other.setDefaultTimeout(10_000);
    try {
      // Already expired when the link is opened.
      const expired = await sign({ sub: 'someone', account: 'local', roles: [] }, Math.floor(Date.now() / 1000) - 10);
      await other.goto(`${keyhub.baseUrl}/#token=${expired}`);
      await other.getByRole('heading', { name: 'Sign in to keyhub' }).waitFor();
      await other.getByText('Your session has expired or was refused. Sign in again.').waitFor();

      // Refused by the server (signed with another secret): the first answer, UNAUTHENTICATED, leads to sign-in.
      const forged = await new SignJWT({ account: 'local', roles: [] })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('someone')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode('another-secret-that-is-at-least-32-characters'));
      await other.goto('about:blank');
      await other.goto(`${keyhub.baseUrl}/#token=${forged}`);
      await other.getByRole('heading', { name: 'Sign in to keyhub' }).waitFor();
      await other.getByText('Your session has expired or was refused. Sign in again.').waitFor();

      // Expiring while the page is open: the browser's clock is moved past the token's exp.
      await other.goto('about:blank');
      await other.clock.install();
      const soon = await sign({ sub: 'someone', account: 'local', roles: [] }, Math.floor(Date.now() / 1000) + 600);
      await other.goto(`${keyhub.baseUrl}/#token=${soon}`);
      await other.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
      await other.clock.fastForward('11:00');
      await other.getByRole('heading', { name: 'Sign in to keyhub' }).waitFor();
      await other.getByText('Your session has expired or was refused. Sign in again.').waitFor();
    } finally {
      await other.close();
    }
  });

  it('offers GraphiQL at /graphql, from keyhub alone, with queries and subscriptions (graphql-ws)', async () => {
    // A context of its own (its storage apart from the console's page), left open: with the bundled Chromium's
    // flags, closing a context can take the browser down with it (the accessibility test closes its own last).
    const ideContext = await browser.newContext({ viewport: { width: 1360, height: 800 } });
    const ide = await ideContext.newPage();
    ide.setDefaultTimeout(10_000);
    const elsewhere: string[] = [];
    const problems: string[] = [];
    ide.on('request', (request) => {
      if (!request.url().startsWith(keyhub.baseUrl) && !request.url().startsWith('data:')) elsewhere.push(request.url());
    });
    ide.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    ide.on('console', (message) => {
      if (/Content.Security.Policy/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
    });
    const probe = (await api(CREATE, { input: { name: 'graphiql-probe', acceptTerms: true } })).data.createApiKey.apiKey;
    try {
      // Signed in to the console in this tab: GraphiQL takes the token from it.
      await ide.goto(link);
      await ide.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
      await ide.goto(`${keyhub.baseUrl}/graphql`);
      const result = ide.getByRole('region', { name: 'Result Window' });
      // Ready once its editor holds the query and the schema has been read (the refetch button is enabled again).
      const ready = async () => {
        await ide.getByRole('region', { name: 'Query Editor' }).filter({ hasText: 'apiKeys' }).waitFor();
        await eventually(async () => expect(await ide.getByRole('button', { name: 'Re-fetch GraphQL schema' }).isEnabled()).toBe(true));
      };
      await ready();
      await ide.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
      await result.filter({ hasText: '"totalCount": 13' }).waitFor().catch(async (error: unknown) => {
        throw new Error(`${String(error)}\nresult: ${await result.textContent()}`);
      });

      // A subscription, linked in the fragment: events of the account's keys arrive as they happen.
      await ide.goto('about:blank');
      await ide.goto(`${keyhub.baseUrl}/graphql#query=${encodeURIComponent('subscription Feed { apiKeyEvents { type keyId version } }')}`);
      await ide.getByRole('region', { name: 'Query Editor' }).filter({ hasText: 'apiKeyEvents' }).waitFor();
      await eventually(async () => expect(await ide.getByRole('button', { name: 'Re-fetch GraphQL schema' }).isEnabled()).toBe(true));
      await ide.getByRole('button', { name: 'Execute query (Ctrl-Enter)' }).click();
      await ide.getByRole('button', { name: 'Stop query (Ctrl-Enter)' }).waitFor();
      let edits = 0;
      await eventually(async () => {
        await api(DESCRIBE, { id: probe.id, d: `seen through graphiql ${++edits}` });
        await result.filter({ hasText: probe.id }).waitFor({ timeout: 500 });
      });
      await result.filter({ hasText: '"type": "ApiKeyDescriptionUpdated"' }).waitFor();
      await ide.getByRole('button', { name: 'Stop query (Ctrl-Enter)' }).click();
      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await ide.goto('about:blank'); // ends its WebSocket
      expect((await api(DELETE, { id: probe.id })).errors).toBeUndefined();
    }
  });

  it('passes axe-core accessibility checks on the list, the create dialog and the sign-in screen', async () => {
    // A separate context that lets the test inject axe-core (the console's own CSP rightly refuses injected scripts).
    const audit = await browser.newContext({ bypassCSP: true, viewport: { width: 1360, height: 800 } });
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
    const violationsOf = async (target: Page): Promise<string[]> => {
      await target.addScriptTag({ content: axeSource });
      const results = (await target.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as {
        violations: Array<{ id: string; impact: string; nodes: Array<{ target: string[] }> }>;
      };
      return results.violations.map((violation) => `${violation.impact} ${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
    };
    try {
      const target = await audit.newPage();
      target.setDefaultTimeout(10_000);
      await target.goto(link);
      await target.getByText(/ of 50 keys$/).waitFor();
      expect(await violationsOf(target)).toEqual([]);
      await target.getByRole('button', { name: 'Create API key' }).first().click();
      await target.getByRole('radio', { name: /^Range/ }).check();
      await target.getByRole('textbox', { name: 'Name' }).fill('x');
      expect(await violationsOf(target)).toEqual([]);
      await target.getByRole('button', { name: 'Cancel' }).click();
      await target.getByRole('button', { name: 'Sign out' }).click();
      await target.getByRole('heading', { name: 'Sign in to keyhub' }).waitFor();
      expect(await violationsOf(target)).toEqual([]);
    } finally {
      await audit.close().catch(() => undefined);
    }
  });

  it('ran without script errors or anything blocked by the Content-Security-Policy', () => {
    expect(pageProblems).toEqual([]);
  });
});

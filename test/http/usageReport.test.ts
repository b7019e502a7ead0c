import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenUsageEntryInput } from '../../src/domain/rules/tokenUsage';
import { parseTokenUsage } from '../../src/domain/rules/tokenUsage';
import { USAGE_BODY_MAX_BYTES, usageReportHandler } from '../../src/http/usageReport';

const TOKEN = 'gateway-token-for-this-test';

describe('POST /usage (usageReportHandler)', () => {
  const received: TokenUsageEntryInput[][] = [];
  let ready = true;
  const errors: unknown[] = [];
  const handler = usageReportHandler({
    // The real rules, then a fixed outcome: every entry for key "known" is recorded.
    intake: {
      record: async (entries) => {
        const parsed = parseTokenUsage(entries, Date.parse('2026-11-25T09:00:00.000Z'));
        received.push(entries as TokenUsageEntryInput[]);
        const recorded = parsed.filter((entry) => entry.keyId === 'known').length;
        return { recorded, rejected: parsed.length - recorded };
      },
    },
    isReady: () => ready,
    gatewayToken: TOKEN,
    onError: (error) => errors.push(error),
  });
  const server = createServer(handler);
  let base = '';
  const post = (body: string, headers: Record<string, string> = { 'x-gateway-token': TOKEN }) =>
    fetch(`${base}/usage`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    ready = true;
  });

  it('records a batch and answers how many entries were recorded and rejected, with `at` as an instant', async () => {
    const response = await post(JSON.stringify({ entries: [{ keyId: 'known', promptTokens: 5, completionTokens: 1, at: '2026-11-25T08:30:00.000Z' }, { keyId: 'unknown', promptTokens: 1, completionTokens: 1 }] }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ recorded: 1, rejected: 1 });
    expect(received[0]?.[0]).toEqual({ keyId: 'known', promptTokens: 5, completionTokens: 1, atMs: Date.parse('2026-11-25T08:30:00.000Z') });
  });

  it('refuses without the gateway token, before reading anything', async () => {
    expect((await post('{"entries":[]}', {})).status).toBe(401);
    expect((await post('{"entries":[]}', { 'x-gateway-token': `${TOKEN}x` })).status).toBe(401);
    expect(received).toHaveLength(0);
  });

  it('answers 400 with the offending field for bad input, and records nothing', async () => {
    const cases: Array<[string, string | null]> = [
      ['not json', null],
      ['{"entries": 3}', 'entries'],
      ['{"entries":[{"keyId":"known","promptTokens":1,"completionTokens":1,"at":"yesterday"}]}', 'entries[0].at'],
      ['{"entries":[{"keyId":"known","promptTokens":1,"completionTokens":1,"at":"2026-11-25T07:00:00.000Z"}]}', 'entries[0].at'],
    ];
    for (const [body, field] of cases) {
      const response = await post(body);
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'BAD_USER_INPUT', field });
    }
  });

  it('answers 413 for a body over the cap, 405 for another method, 503 while starting, and keeps serving', async () => {
    expect((await post(`{"entries":["${'x'.repeat(USAGE_BODY_MAX_BYTES)}"]}`)).status).toBe(413);
    expect((await fetch(`${base}/usage`, { headers: { 'x-gateway-token': TOKEN } })).status).toBe(405);
    ready = false;
    expect((await post('{"entries":[]}')).status).toBe(503);
    ready = true;
    expect((await post('{"entries":[]}')).status).toBe(200);
    expect(errors).toEqual([]);
  });
});

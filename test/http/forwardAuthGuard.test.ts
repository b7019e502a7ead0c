import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { guarded, headerValue } from '../../src/http/forwardAuth';

describe('forward auth › answering', () => {
  it('percent-encodes header values so any script fits a header, and leaves plain ids as they are', () => {
    expect(headerValue('acct-42_x.y')).toBe('acct-42_x.y');
    expect(headerValue('租户-42')).toBe('%E7%A7%9F%E6%88%B7-42');
    expect(decodeURIComponent(headerValue('租户 42\r\n'))).toBe('租户 42\r\n');
  });

  describe('when the handler throws, now or in a later turn', () => {
    const errors: unknown[] = [];
    const handler = guarded((req, res, fail) => {
      if (req.url === '/now') res.writeHead(200, { 'x-account-id': '租户-42' }); // node throws ERR_INVALID_CHAR
      else if (req.url === '/later') Promise.reject(new Error('later')).catch(fail);
      else res.end('ok');
    }, (error) => errors.push(error));
    const server = createServer(handler);
    let base = '';
    beforeAll(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('answers 500 to that request alone, reports the error, and goes on serving', async () => {
      const now = await fetch(`${base}/now`);
      expect(now.status).toBe(500);
      expect(await now.json()).toEqual({ valid: false, reason: 'INTERNAL' });
      expect((await fetch(`${base}/later`)).status).toBe(500);
      expect(errors.map((error) => (error as { code?: string; message: string }).code ?? (error as Error).message)).toEqual(['ERR_INVALID_CHAR', 'later']);
      expect(await (await fetch(`${base}/fine`)).text()).toBe('ok');
    });
  });
});

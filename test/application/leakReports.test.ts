import { Writable } from 'node:stream';
import pino from 'pino';
import { LeakReportIntake } from '../../src/application/leakReportIntake';
import { LeakReportLimiter, clientKeyOf } from '../../src/application/leakReportLimiter';
import { DomainError, badInput } from '../../src/domain/errors';

async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'admitted';
  } catch (error) {
    return error instanceof DomainError ? `${error.code}: ${error.message}` : 'not a DomainError';
  }
}

describe('Leak report limits', () => {
  it('counts an IPv6 address by its /64, an IPv4 (or IPv4-mapped) address by itself, and every non-address as one client', () => {
    expect(clientKeyOf('2001:db8:1:2::1')).toBe(clientKeyOf('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expect(clientKeyOf('2001:db8:1:2::1')).not.toBe(clientKeyOf('2001:db8:1:3::1'));
    expect(clientKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('203.0.113.8')).not.toBe(clientKeyOf('203.0.113.7'));
    expect(new Set(['not-an-ip', 'also not', '', '10.0.0.300'].map(clientKeyOf)).size).toBe(1);
    expect(clientKeyOf(null)).toBe(clientKeyOf('garbage'));
  });

  it('refuses a rotating IPv6 client within its /64 after its allowance', async () => {
    const limiter = new LeakReportLimiter({ perAddressPerMinute: 3, totalPerMinute: 1000 });
    const answers = [];
    for (let i = 1; i <= 5; i += 1) answers.push(await outcome(limiter.admit(`2001:db8:aa:bb::${i.toString(16)}`)));
    expect(answers.slice(0, 3)).toEqual(['admitted', 'admitted', 'admitted']);
    expect(answers.slice(3)).toEqual([expect.stringMatching(/^RATE_LIMITED: too many leak reports from this address; retry in \d+ s$/), expect.stringMatching(/^RATE_LIMITED/)]);
    expect(await outcome(limiter.admit('2001:db8:aa:bc::1'))).toBe('admitted'); // the next /64 is another client
  });

  it('holds clients that present a new address every time to the total ceiling', async () => {
    const limiter = new LeakReportLimiter({ perAddressPerMinute: 2, totalPerMinute: 5 });
    const answers = [];
    for (let i = 1; i <= 8; i += 1) answers.push(await outcome(limiter.admit(`198.51.100.${i}`)));
    expect(answers.filter((answer) => answer === 'admitted')).toHaveLength(5);
    expect(answers.slice(5)).toEqual(Array(3).fill(expect.stringMatching(/^RATE_LIMITED: too many leak reports from all addresses together; retry in \d+ s$/)));
  });
});

describe('Leak report intake', () => {
  const intake = () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
    return { lines, intake: new LeakReportIntake(new LeakReportLimiter({ perAddressPerMinute: 10, totalPerMinute: 100 }), logger) };
  };

  it('logs a report that could not be recorded, with its request id, and answers SERVICE_UNAVAILABLE so the reporter retries', async () => {
    const { lines, intake: desk } = intake();
    const answer = await outcome(desk.receive('203.0.113.9', 'req-7', () => Promise.reject(new Error('disk I/O error'))));
    expect(answer).toBe('SERVICE_UNAVAILABLE: the report could not be recorded; retry shortly');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, requestId: 'req-7', clientAddress: '203.0.113.9', err: { message: 'disk I/O error' } });
  });

  it('passes the reporter\'s own mistakes through unlogged, and records nothing past the limit', async () => {
    const { lines, intake: desk } = intake();
    expect(await outcome(desk.receive('203.0.113.9', 'r', () => Promise.reject(badInput('secret', 'secret is not a keyhub secret'))))).toBe('BAD_USER_INPUT: secret is not a keyhub secret');
    expect(lines).toHaveLength(0);
    let recorded = 0;
    for (let i = 0; i < 12; i += 1) await outcome(desk.receive('203.0.113.10', 'r', async () => void (recorded += 1)));
    expect(recorded).toBe(10);
  });
});

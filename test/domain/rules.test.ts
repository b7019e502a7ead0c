import { compileIpAllowlist, normaliseIpEntry, parseIpAllowlist } from '../../src/domain/rules/ipAllowlist';
import { parseScope, parseScopeCatalog, scopeAllows } from '../../src/domain/rules/scope';
import { parseDescription } from '../../src/domain/rules/description';
import { parseKeyName } from '../../src/domain/rules/name';
import { checkAccess } from '../../src/domain/verification';
import type { VerifiableKey } from '../../src/domain/verification';

describe('IP allowlist rule', () => {
  it.each([
    ['10.1.2.3', '10.1.2.3'],
    ['10.1.2.3/32', '10.1.2.3'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    [' 192.168.1.77/24 ', '192.168.1.0/24'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8::1/48', '2001:db8::/48'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::ffff:10.0.0.0/104', '10.0.0.0/8'],
  ])('should normalise %p to %p', (entry, normalised) => {
    expect(normaliseIpEntry(entry)).toBe(normalised);
  });

  it.each(['10.1', '127.1', '0x7f.0.0.1', '256.0.0.1', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8/8', '2001:db8::/129', 'localhost', '', '10.0.0.0/ 8'])(
    'should reject %p',
    (entry) => {
      expect(normaliseIpEntry(entry)).toBeNull();
    },
  );

  it('should de-duplicate equivalent entries', () => {
    expect(parseIpAllowlist(['10.0.0.1/8', '10.9.9.9/8', '10.0.0.0/8'])).toEqual(['10.0.0.0/8']);
  });

  it('should match addresses inside the ranges only, IPv4 and IPv6', () => {
    const allows = compileIpAllowlist(['10.0.0.0/8', '192.168.1.7', '2001:db8::/32']);
    expect(allows('10.255.0.1')).toBe(true);
    expect(allows('11.0.0.1')).toBe(false);
    expect(allows('192.168.1.7')).toBe(true);
    expect(allows('192.168.1.8')).toBe(false);
    expect(allows('2001:db8:1::9')).toBe(true);
    expect(allows('2001:db9::1')).toBe(false);
    expect(allows('::ffff:10.1.1.1')).toBe(true);
    expect(allows(null)).toBe(false);
    expect(allows('garbage')).toBe(false);
  });

  it('should let any address through an empty allowlist, and everything through /0', () => {
    expect(compileIpAllowlist([])(null)).toBe(true);
    expect(compileIpAllowlist(['0.0.0.0/0'])('203.0.113.9')).toBe(true);
  });
});

describe('Scope rule', () => {
  const scope = parseScope({ mode: 'RESTRICTED', models: ['qwen-max', 'gpt-4o*'], services: [] });
  const both = parseScope({ mode: 'RESTRICTED', models: ['qwen-max'], services: ['chat'] });

  it('should allow a request naming only listed models, prefix patterns included', () => {
    expect(scopeAllows(scope, 'qwen-max', null)).toBe(true);
    expect(scopeAllows(scope, 'gpt-4o-mini', undefined)).toBe(true);
    expect(scopeAllows(scope, 'qwen-plus', null)).toBe(false);
  });

  it('should allow a request naming one listed kind only when the key lists both kinds (models [qwen-max], services [chat])', () => {
    expect(scopeAllows(both, 'qwen-max', null)).toBe(true);
    expect(scopeAllows(both, null, 'chat')).toBe(true);
    expect(scopeAllows(both, 'qwen-max', 'chat')).toBe(true);
  });

  it('should refuse a request when any value it names is not listed', () => {
    expect(scopeAllows(both, 'qwen-max', 'embeddings')).toBe(false);
    expect(scopeAllows(both, 'gpt-4o', 'chat')).toBe(false);
  });

  it('should let an empty list allow nothing of its kind', () => {
    expect(scopeAllows(scope, 'qwen-max', 'chat')).toBe(false);
    expect(scopeAllows(scope, null, 'chat')).toBe(false);
  });

  it('should refuse a request that names neither a model nor a service', () => {
    expect(scopeAllows(both, null, null)).toBe(false);
    expect(scopeAllows(scope, '', undefined)).toBe(false);
  });

  it('should allow everything with ALL', () => {
    expect(scopeAllows(parseScope(null), undefined, undefined)).toBe(true);
    expect(scopeAllows(parseScope(null), 'any', 'thing')).toBe(true);
  });
});

describe('Verification checks', () => {
  const key: VerifiableKey = {
    keyId: 'k',
    accountId: 'a',
    status: 'ENABLED',
    expiresAtMs: Date.parse('2027-01-01T00:00:00.000Z'),
    scope: parseScope({ mode: 'RESTRICTED', models: ['qwen-max'] }),
    allowsIp: compileIpAllowlist(['10.0.0.0/8']),
  };
  const request = { clientIp: '10.0.0.1', model: 'qwen-max', nowMs: Date.parse('2026-12-01T00:00:00.000Z') };

  it('should accept a request that passes every check', () => {
    expect(checkAccess(key, request)).toMatchObject({ valid: true, reason: null, keyId: 'k', accountId: 'a' });
  });

  it('should give the first failing reason, key state first', () => {
    expect(checkAccess({ ...key, status: 'DISABLED' }, { ...request, clientIp: '1.1.1.1' }).reason).toBe('DISABLED');
    expect(checkAccess(key, { ...request, nowMs: Date.parse('2027-01-01T00:00:00.000Z') }).reason).toBe('EXPIRED');
    expect(checkAccess(key, { ...request, clientIp: '1.1.1.1' }).reason).toBe('IP_NOT_ALLOWED');
    expect(checkAccess(key, { ...request, model: 'other' }).reason).toBe('SCOPE_DENIED');
  });
});

describe('hostile text and list input', () => {
  it('should refuse bidi overrides, zero-width spaces and lone surrogates in descriptions, and keep joiners scripts need', () => {
    for (const text of ['pay \u202Eevil', 'a\u200Bb', 'b\uFEFFom', 'iso\u2066late', 'half \ud800 pair', 'c1\u0085x']) {
      expect(() => parseDescription(text)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'description' }));
    }
    expect(parseDescription('می\u200Cخواهم 👩\u200D💻 租户')).toBe('می\u200Cخواهم 👩\u200D💻 租户');
  });

  it('should refuse format characters and lone surrogates in names', () => {
    for (const text of ['ab\u202Ecd', 'ab\u200Bcd', 'ab\ud800']) {
      expect(() => parseKeyName(text)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'name' }));
    }
    expect(parseKeyName('生产 密钥')).toBe('生产 密钥');
  });

  it('should count a scope list before de-duplicating it, so a huge list costs no more than a short one', () => {
    const huge = Array.from({ length: 32_000 }, (_, i) => `model-${i}`);
    expect(() => parseScope({ mode: 'RESTRICTED', models: huge })).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'scope.models' }));
    // 101 copies of one id: refused by their count, not de-duplicated into one entry first.
    expect(() => parseScope({ mode: 'RESTRICTED', models: Array(101).fill('qwen-max') })).toThrow(expect.objectContaining({ field: 'scope.models' }));
    expect(parseScope({ mode: 'RESTRICTED', models: ['qwen-max', 'qwen-max', 'gpt-4o*'] }).models).toEqual(['qwen-max', 'gpt-4o*']);
  });
});

describe('scope catalog rule', () => {
  it('should keep ids that follow the scope entry rule, de-duplicated, and name the entry that does not', () => {
    expect(parseScopeCatalog({ models: ['qwen-max', 'qwen-max', 'openai/whisper'], services: [] })).toEqual({ models: ['qwen-max', 'openai/whisper'], services: [] });
    expect(parseScopeCatalog({})).toEqual({ models: [], services: [] });
    expect(() => parseScopeCatalog({ models: ['qwen-*'] })).toThrow(expect.objectContaining({ field: 'models[0]' }));
    expect(() => parseScopeCatalog({ services: ['chat', 7] })).toThrow(expect.objectContaining({ field: 'services[1]' }));
    expect(() => parseScopeCatalog({ models: 'qwen-max' })).toThrow(expect.objectContaining({ field: 'models' }));
    expect(() => parseScopeCatalog([])).toThrow(expect.objectContaining({ field: 'catalog' }));
    expect(() => parseScopeCatalog({ models: Array.from({ length: 1001 }, (_, i) => `m${i}`) })).toThrow(expect.objectContaining({ field: 'models' }));
  });
});

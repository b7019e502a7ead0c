import { VerificationCache } from '../../src/application/verificationCache';
import { compileIpAllowlist } from '../../src/domain/rules/ipAllowlist';
import { SCOPE_ALL } from '../../src/domain/rules/scope';
import type { VerifiableKey } from '../../src/domain/verification';

const key = (keyId: string): VerifiableKey => ({
  keyId,
  accountId: 'acct',
  status: 'ENABLED',
  expiresAtMs: null,
  scope: SCOPE_ALL,
  allowsIp: compileIpAllowlist([]),
});
const event = (keyId: string, type: string) => ({ streamId: `apiKey-${keyId}`, type });

describe('VerificationCache (kept current by the event stream alone)', () => {
  let healthy = true;
  let cache: VerificationCache;
  const remember = (hash: string, keyId: string) => cache.store(hash, key(keyId), cache.begin());

  beforeEach(() => {
    healthy = true;
    cache = new VerificationCache(() => healthy, 3);
  });

  it('serves a stored key until an event on its stream may change its verdict', () => {
    remember('h1', 'k1');
    remember('h2', 'k2');
    cache.applied([event('k1', 'ApiKeyRenamed'), event('k1', 'ApiKeyDescriptionUpdated'), { streamId: 'account-acct', type: 'AccountKeySlotReserved' }]);
    expect(cache.get('h1')?.keyId).toBe('k1');
    cache.applied([event('k1', 'ApiKeyStatusChanged')]);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')?.keyId).toBe('k2');
  });

  it('evicts on event types it does not know (a later feature cannot leave stale entries)', () => {
    remember('h1', 'k1');
    cache.applied([event('k1', 'SomeFutureKeyEvent')]);
    expect(cache.get('h1')).toBeUndefined();
  });

  it("evicts every hash of a key at once (a rotated key's old and new secret)", () => {
    remember('old', 'k1');
    remember('new', 'k1');
    cache.applied([event('k1', 'ApiKeyRotated')]);
    expect(cache.get('old')).toBeUndefined();
    expect(cache.get('new')).toBeUndefined();
  });

  it('does not store what a lookup read while an evicting event was applied', () => {
    const generation = cache.begin(); // lookup starts
    cache.applied([event('k1', 'ApiKeyDeleted')]); // the revocation lands while the lookup is in flight
    cache.store('h1', key('k1'), generation); // the lookup's (possibly pre-revocation) answer
    expect(cache.get('h1')).toBeUndefined();
  });

  it('serves nothing and empties while its feed is unhealthy', () => {
    remember('h1', 'k1');
    healthy = false;
    expect(cache.get('h1')).toBeUndefined();
    remember('h2', 'k2');
    healthy = true;
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toBeUndefined();
  });

  it('stays within its size, dropping the oldest key first', () => {
    remember('h1', 'k1');
    remember('h2', 'k2');
    remember('h3', 'k3');
    remember('h4', 'k4');
    expect(cache.size).toBe(3);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h4')?.keyId).toBe('k4');
  });

  it('forgets a key ahead of the projection, and caches it again only once the projection has applied the log up to the change', () => {
    const at = (commit: number) => ({ commit: BigInt(commit), prepare: BigInt(commit) });
    remember('h1', 'k1');
    remember('h2', 'k2');
    cache.forget(['k1'], at(10));
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')?.keyId).toBe('k2');
    remember('h1', 'k1'); // a lookup that read the read model from before the change
    expect(cache.get('h1')).toBeUndefined();
    cache.applied([{ ...event('k2', 'ApiKeyRenamed'), position: at(9) }]);
    remember('h1', 'k1');
    expect(cache.get('h1')).toBeUndefined();
    cache.applied([{ ...event('k1', 'ApiKeyStatusChanged'), position: at(10) }]);
    remember('h1', 'k1');
    expect(cache.get('h1')?.keyId).toBe('k1');
  });
});

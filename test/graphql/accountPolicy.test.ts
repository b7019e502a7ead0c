import { clientFor, errorOf } from '../support/graphqlClient';
import { ROTATE, UPDATE_EXPIRY } from '../support/keyCareOperations';
import { CREATE, HISTORY, QUOTA } from '../support/operations';
import { startInProcessKeyhub } from '../http/inProcessKeyhub';

const POLICY_FIELDS = 'maxKeyLifetimeDays defaultKeyLifetimeDays expiryWarningDays unusedAfterDays';
const SET_POLICY = `mutation($policy: AccountPolicyInput!, $accountId: ID) { setAccountPolicy(policy: $policy, accountId: $accountId) { ${POLICY_FIELDS} } }`;
const GET_POLICY = `query($accountId: ID) { accountPolicy(accountId: $accountId) { ${POLICY_FIELDS} } }`;
const DAY_MS = 86_400_000;

describe('Account policies over GraphQL', () => {
  let keyhub: Awaited<ReturnType<typeof startInProcessKeyhub>>;
  beforeAll(async () => {
    keyhub = await startInProcessKeyhub();
  });
  afterAll(async () => keyhub.stop());

  it('answers no rules for an account without a policy, and the policy once set (settings left out are null)', async () => {
    const owner = await clientFor(keyhub.url, { sub: 'owner-a', account: 'acct-policy-a' });
    expect((await owner.call(GET_POLICY)).accountPolicy).toEqual({ maxKeyLifetimeDays: null, defaultKeyLifetimeDays: null, expiryWarningDays: null, unusedAfterDays: null });
    const set = await owner.call(SET_POLICY, { policy: { maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: 90, expiryWarningDays: 14 } });
    expect(set.setAccountPolicy).toEqual({ maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: 90, expiryWarningDays: 14, unusedAfterDays: null });
    expect((await owner.call(GET_POLICY)).accountPolicy).toEqual(set.setAccountPolicy);
    expect((await owner.call(SET_POLICY, { policy: { unusedAfterDays: 60 } })).setAccountPolicy).toEqual({ maxKeyLifetimeDays: null, defaultKeyLifetimeDays: null, expiryWarningDays: null, unusedAfterDays: 60 });
  });

  it('refuses bad settings with BAD_USER_INPUT naming the field, changing nothing', async () => {
    const owner = await clientFor(keyhub.url, { sub: 'owner-b', account: 'acct-policy-b' });
    expect(errorOf(await owner.raw(SET_POLICY, { policy: { maxKeyLifetimeDays: 0 } }))).toEqual({ code: 'BAD_USER_INPUT', field: 'policy.maxKeyLifetimeDays' });
    expect(errorOf(await owner.raw(SET_POLICY, { policy: { maxKeyLifetimeDays: 30, defaultKeyLifetimeDays: 60 } }))).toEqual({ code: 'BAD_USER_INPUT', field: 'policy.defaultKeyLifetimeDays' });
    expect((await owner.call(GET_POLICY)).accountPolicy.maxKeyLifetimeDays).toBeNull();
  });

  it('lets only an admin read or set another account\'s policy', async () => {
    const other = await clientFor(keyhub.url, { sub: 'owner-c', account: 'acct-policy-c' });
    expect(errorOf(await other.raw(SET_POLICY, { policy: { maxKeyLifetimeDays: 1 }, accountId: 'acct-policy-d' }))).toMatchObject({ code: 'FORBIDDEN' });
    expect(errorOf(await other.raw(GET_POLICY, { accountId: 'acct-policy-d' }))).toMatchObject({ code: 'FORBIDDEN' });
    const admin = await clientFor(keyhub.url, { sub: 'platform-admin', account: 'acct-platform', roles: ['admin'] });
    expect((await admin.call(SET_POLICY, { policy: { maxKeyLifetimeDays: 7 }, accountId: 'acct-policy-d' })).setAccountPolicy.maxKeyLifetimeDays).toBe(7);
    const owner = await clientFor(keyhub.url, { sub: 'owner-d', account: 'acct-policy-d' });
    expect((await owner.call(GET_POLICY)).accountPolicy.maxKeyLifetimeDays).toBe(7);
    expect((await admin.call(GET_POLICY, { accountId: 'acct-policy-d' })).accountPolicy.maxKeyLifetimeDays).toBe(7);
  });

  describe('enforced on keys', () => {
    let owner: Awaited<ReturnType<typeof clientFor>>;
    beforeAll(async () => {
      owner = await clientFor(keyhub.url, { sub: 'owner-e', account: 'acct-policy-e' });
      await owner.call(SET_POLICY, { policy: { maxKeyLifetimeDays: 30, defaultKeyLifetimeDays: 7 } });
    });
    const inDays = (days: number) => new Date(Date.now() + days * DAY_MS).toISOString();

    it('gives a key created without expiry the default lifetime', async () => {
      const before = Date.now();
      const { createApiKey } = await owner.call(CREATE, { input: { name: 'defaulted', acceptTerms: true } });
      const expiresMs = Date.parse(createApiKey.apiKey.expiresAt);
      expect(expiresMs).toBeGreaterThanOrEqual(before + 7 * DAY_MS);
      expect(expiresMs).toBeLessThanOrEqual(Date.now() + 7 * DAY_MS);
    });

    it('refuses a create with an expiry past the maximum lifetime (BAD_USER_INPUT on expiresAt), creating nothing', async () => {
      const used = (await owner.call(QUOTA)).accountQuota.used as number;
      const refused = await owner.raw(CREATE, { input: { name: 'too long', acceptTerms: true, expiresAt: inDays(31) } });
      expect(errorOf(refused)).toEqual({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
      expect((await owner.call(QUOTA)).accountQuota.used).toBe(used);
      const { createApiKey } = await owner.call(CREATE, { input: { name: 'fits', acceptTerms: true, expiresAt: inDays(29) } });
      expect(createApiKey.apiKey.expiresAt).not.toBeNull();
    });

    it('refuses an expiry change past the maximum or to none, and accepts one within it', async () => {
      const { createApiKey } = await owner.call(CREATE, { input: { name: 'changing', acceptTerms: true } });
      const id = createApiKey.apiKey.id as string;
      expect(errorOf(await owner.raw(UPDATE_EXPIRY, { id, expiresAt: inDays(45) }))).toEqual({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
      expect(errorOf(await owner.raw(UPDATE_EXPIRY, { id, expiresAt: null }))).toEqual({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
      const later = inDays(20);
      expect((await owner.call(UPDATE_EXPIRY, { id, expiresAt: later })).updateExpiry.expiresAt).toBe(later);
    });

    it('brings a key created before the policy within it when it is rotated', async () => {
      const admin = await clientFor(keyhub.url, { sub: 'platform-admin', account: 'acct-platform', roles: ['admin'] });
      const older = await clientFor(keyhub.url, { sub: 'owner-f', account: 'acct-policy-f' });
      const { createApiKey } = await older.call(CREATE, { input: { name: 'forever', acceptTerms: true } });
      expect(createApiKey.apiKey.expiresAt).toBeNull();
      await admin.call(SET_POLICY, { policy: { maxKeyLifetimeDays: 30 }, accountId: 'acct-policy-f' });
      const rotated = (await older.call(ROTATE, { id: createApiKey.apiKey.id, grace: 0 })).rotateApiKey;
      const expiresMs = Date.parse(rotated.apiKey.expiresAt);
      expect(Math.abs(expiresMs - (Date.now() + 30 * DAY_MS))).toBeLessThan(60_000);
      const history = (await older.call(HISTORY, { id: createApiKey.apiKey.id })).apiKeyHistory.map((event: { type: string }) => event.type);
      expect(history).toEqual(['ApiKeyCreated', 'ApiKeyExpiryUpdated', 'ApiKeyRotated']);
    });
  });
});

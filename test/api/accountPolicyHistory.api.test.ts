import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import { newOwner } from '../support/apiHelpers';
import { clientFor, errorOf } from '../support/graphqlClient';
import { CREATE } from '../support/operations';

const POLICY_FIELDS = 'maxKeyLifetimeDays defaultKeyLifetimeDays expiryWarningDays unusedAfterDays';
const SET_POLICY = `mutation($policy: AccountPolicyInput!, $accountId: ID) { setAccountPolicy(policy: $policy, accountId: $accountId) { ${POLICY_FIELDS} } }`;
const POLICY_AS_OF = `query($accountId: ID, $asOf: DateTime) { accountPolicy(accountId: $accountId, asOf: $asOf) { ${POLICY_FIELDS} } }`;
const NO_RULES = { maxKeyLifetimeDays: null, defaultKeyLifetimeDays: null, expiryWarningDays: null, unusedAfterDays: null };
const HOUR_MS = 3_600_000;

describe('accountPolicy(asOf): the policy as it stood at an instant, from its history', () => {
  let keyhub: KeyhubSpecification;
  beforeAll(async () => {
    keyhub = await startApiSpecification();
  });
  afterAll(async () => keyhub.stop());

  it('answers no rules before the first policy, each policy from when it was set until the next, and the latest from then on', async () => {
    const owner = await newOwner(keyhub.url);
    const before = keyhub.clock.now();
    keyhub.clock.advance(HOUR_MS);
    const first = (await owner.call(SET_POLICY, { policy: { maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: 30, expiryWarningDays: 14 } })).setAccountPolicy;
    const firstSetAt = keyhub.clock.now();
    keyhub.clock.advance(HOUR_MS);
    // Slot events of key creations come between the policy events in the account's stream.
    await owner.call(CREATE, { input: { name: 'between', acceptTerms: true } });
    const between = keyhub.clock.now();
    keyhub.clock.advance(HOUR_MS);
    const second = (await owner.call(SET_POLICY, { policy: { unusedAfterDays: 30 } })).setAccountPolicy;
    const secondSetAt = keyhub.clock.now();
    keyhub.clock.advance(HOUR_MS);

    const asOf = async (instant: Date | null) => (await owner.call(POLICY_AS_OF, { asOf: instant?.toISOString() ?? null })).accountPolicy;
    expect(await asOf(before)).toEqual(NO_RULES);
    expect(await asOf(new Date(firstSetAt.getTime() - 1))).toEqual(NO_RULES);
    expect(await asOf(firstSetAt)).toEqual({ ...NO_RULES, maxKeyLifetimeDays: 365, defaultKeyLifetimeDays: 30, expiryWarningDays: 14 });
    expect(await asOf(between)).toEqual(first);
    expect(await asOf(new Date(secondSetAt.getTime() - 1))).toEqual(first);
    expect(await asOf(secondSetAt)).toEqual({ ...NO_RULES, unusedAfterDays: 30 });
    expect(await asOf(keyhub.clock.now())).toEqual(second);
    expect(await asOf(null)).toEqual(second);
  });

  it("lets only an admin read another account's past policy; an unknown account had no rules", async () => {
    const owner = await newOwner(keyhub.url);
    await owner.call(SET_POLICY, { policy: { maxKeyLifetimeDays: 90 } });
    const setAt = keyhub.clock.now();
    keyhub.clock.advance(HOUR_MS);
    const stranger = await newOwner(keyhub.url);
    expect(errorOf(await stranger.raw(POLICY_AS_OF, { accountId: owner.identity.account, asOf: setAt.toISOString() }))).toMatchObject({ code: 'FORBIDDEN' });
    const admin = await clientFor(keyhub.url, { sub: 'platform-admin', account: 'acct-platform', roles: ['admin'] });
    expect((await admin.call(POLICY_AS_OF, { accountId: owner.identity.account, asOf: setAt.toISOString() })).accountPolicy.maxKeyLifetimeDays).toBe(90);
    expect((await admin.call(POLICY_AS_OF, { accountId: 'acct-never-seen', asOf: setAt.toISOString() })).accountPolicy).toEqual(NO_RULES);
  });

  it('refuses an asOf that is not a DateTime with BAD_USER_INPUT', async () => {
    const owner = await newOwner(keyhub.url);
    expect(errorOf(await owner.raw(POLICY_AS_OF, { asOf: 'yesterday' }))).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});

import { randomUUID } from 'node:crypto';
import type { Client } from '../support/apiHelpers';
import { createKey, newGateway, newOwner as ownerOf, verifyKey } from '../support/apiHelpers';
import type { KeyhubSpecification } from '../support/apiSpecification';
import { startApiSpecification } from '../support/apiSpecification';
import { errorOf } from '../support/graphqlClient';
import { GET, HISTORY, UPDATE_SCOPE } from '../support/operations';
import { API_KEY_EVENTS_AFTER, ROTATE, UPDATE_EXPIRY, VERIFY_WITH_DEADLINE } from '../support/keyCareOperations';

describe('Key rotation and expiry', () => {
  let api: KeyhubSpecification;
  let gateway: Client;
  const newOwner = () => ownerOf(api.url);
  const create = (owner: Client, input: Record<string, unknown> = {}) => createKey(owner, input, { name: 'rotating', scope: { mode: 'RESTRICTED', models: ['qwen-max'] } });
  const verify = (key: string) => verifyKey(gateway, key, { model: 'qwen-max', clientIp: '10.1.2.3' }, VERIFY_WITH_DEADLINE);
  const at = (ms: number) => new Date(ms).toISOString();

  beforeAll(async () => {
    api = await startApiSpecification({ env: { USAGE_FLUSH_MS: '250' } });
    gateway = await newGateway(api.url);
  });
  afterAll(async () => {
    await api.stop();
  });

  it('returns a new secret once and keeps the key; the old secret verifies with a deadline until the grace period ends', async () => {
    const owner = await newOwner();
    const { apiKey, secret: oldSecret } = await create(owner, { ipAllowlist: ['10.0.0.0/8'], description: 'batch' });
    expect(await verify(oldSecret)).toMatchObject({ valid: true, rotationDeadline: null });
    await api.flushUses(); // the use is written, so last use is seen to survive the rotation
    const before = (await owner.call(GET, { id: apiKey.id })).apiKey;
    expect(before.lastUsedAt).not.toBeNull();

    const rotated = (await owner.call(ROTATE, { id: apiKey.id, grace: 3600, v: before.version })).rotateApiKey;
    expect(rotated.secret).toMatch(/^sk-[0-9A-Za-z]{49}$/);
    expect(rotated.secret).not.toBe(oldSecret);
    expect(rotated.apiKey).toMatchObject({
      id: apiKey.id,
      name: 'rotating',
      description: 'batch',
      scope: { mode: 'RESTRICTED', models: ['qwen-max'], services: [] },
      ipAllowlist: ['10.0.0.0/8'],
      maskedKey: `${rotated.secret.slice(0, 5)}***${rotated.secret.slice(-4)}`,
      lastUsedAt: before.lastUsedAt,
      createdAt: apiKey.createdAt,
      version: before.version + 1,
    });
    expect(Date.parse(rotated.previousSecretValidUntil) - Date.parse(rotated.apiKey.updatedAt)).toBe(3600 * 1000);
    expect((await owner.call(GET, { id: apiKey.id })).apiKey.maskedKey).toBe(rotated.apiKey.maskedKey);

    expect(await verify(rotated.secret)).toMatchObject({ valid: true, keyId: apiKey.id, rotationDeadline: null });
    expect(await verify(oldSecret)).toEqual({ valid: true, reason: null, keyId: apiKey.id, rotationDeadline: rotated.previousSecretValidUntil });

    // The scope changes for both secrets alike.
    await owner.call(UPDATE_SCOPE, { id: apiKey.id, scope: { mode: 'RESTRICTED', models: ['other'] } });
    expect(await verify(oldSecret)).toMatchObject({ valid: false, reason: 'SCOPE_DENIED' });
    expect(await verify(rotated.secret)).toMatchObject({ valid: false, reason: 'SCOPE_DENIED' });
  });

  it('shows the rotation in the history without secrets or hashes, and asOf shows which secret was current when', async () => {
    const owner = await newOwner();
    const { apiKey, secret: oldSecret } = await create(owner);
    api.clock.advance(1000);
    const between = api.clock.now().toISOString();
    api.clock.advance(1000);
    const rotated = (await owner.call(ROTATE, { id: apiKey.id, grace: 60 })).rotateApiKey;

    const history = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory;
    expect(history.map((event: { type: string }) => event.type)).toEqual(['ApiKeyCreated', 'ApiKeyRotated']);
    expect(history[1]).toMatchObject({ version: 2, actor: owner.identity.sub, data: { maskedKey: rotated.apiKey.maskedKey, previousMaskedKey: apiKey.maskedKey, graceUntil: rotated.previousSecretValidUntil } });
    const text = JSON.stringify(history);
    for (const forbidden of [oldSecret, rotated.secret, 'secretHash', 'previousSecretHash']) expect(text).not.toContain(forbidden);

    expect((await owner.call(GET, { id: apiKey.id, asOf: between })).apiKey.maskedKey).toBe(apiKey.maskedKey);
    expect((await owner.call(GET, { id: apiKey.id, asOf: api.clock.now().toISOString() })).apiKey.maskedKey).toBe(rotated.apiKey.maskedKey);
  });

  it('ends the old secret at once with a grace period of 0, and after the grace period otherwise', async () => {
    const owner = await newOwner();
    const first = await create(owner);
    const now = (await owner.call(ROTATE, { id: first.apiKey.id, grace: 0 })).rotateApiKey;
    expect(now.previousSecretValidUntil).toBe(now.apiKey.updatedAt);
    expect(await verify(first.secret)).toEqual({ valid: false, reason: 'NOT_FOUND', keyId: null, rotationDeadline: null });
    expect(await verify(now.secret)).toMatchObject({ valid: true });

    const second = await create(owner);
    const soon = (await owner.call(ROTATE, { id: second.apiKey.id, grace: 1 })).rotateApiKey;
    expect(await verify(second.secret)).toMatchObject({ valid: true, rotationDeadline: soon.previousSecretValidUntil });
    api.clock.advance(999);
    expect(await verify(second.secret)).toMatchObject({ valid: true, rotationDeadline: soon.previousSecretValidUntil });
    api.clock.advance(1); // the grace period ends at previousSecretValidUntil
    expect(api.clock.now().toISOString()).toBe(soon.previousSecretValidUntil);
    expect(await verify(second.secret)).toMatchObject({ valid: false, reason: 'NOT_FOUND', keyId: null });
    expect(await verify(soon.secret)).toMatchObject({ valid: true });
  });

  it('keeps the old secret for a grace period of an hour, to the millisecond', async () => {
    const owner = await newOwner();
    const { apiKey, secret: oldSecret } = await create(owner);
    const rotated = (await owner.call(ROTATE, { id: apiKey.id, grace: 3600 })).rotateApiKey;
    api.clock.advance(3600 * 1000 - 1);
    expect(await verify(oldSecret)).toMatchObject({ valid: true, rotationDeadline: rotated.previousSecretValidUntil });
    api.clock.advance(1);
    expect(await verify(oldSecret)).toMatchObject({ valid: false, reason: 'NOT_FOUND', keyId: null });
    expect(await verify(rotated.secret)).toMatchObject({ valid: true, rotationDeadline: null });
  });

  it('keeps only one rotated-out secret: rotating again ends the one before', async () => {
    const owner = await newOwner();
    const { apiKey, secret: first } = await create(owner);
    const second = (await owner.call(ROTATE, { id: apiKey.id, grace: 3600 })).rotateApiKey.secret;
    const third = (await owner.call(ROTATE, { id: apiKey.id, grace: 3600 })).rotateApiKey.secret;
    expect(await verify(first)).toMatchObject({ valid: false, reason: 'NOT_FOUND' });
    expect(await verify(second)).toMatchObject({ valid: true });
    expect((await verify(second)).rotationDeadline).not.toBeNull();
    expect(await verify(third)).toMatchObject({ valid: true, rotationDeadline: null });
  });

  it('refuses bad input and stale versions, changing nothing', async () => {
    const owner = await newOwner();
    const { apiKey, secret } = await create(owner);
    for (const grace of [-1, 30 * 24 * 3600 + 1]) {
      expect(errorOf(await owner.raw(ROTATE, { id: apiKey.id, grace }))).toEqual({ code: 'BAD_USER_INPUT', field: 'gracePeriodSeconds' });
    }
    expect(errorOf(await owner.raw(ROTATE, { id: apiKey.id, grace: 60, v: 7 }))).toMatchObject({ code: 'CONFLICT' });
    expect(errorOf(await owner.raw(ROTATE, { id: randomUUID(), grace: 60 }))).toMatchObject({ code: 'NOT_FOUND' });
    const stranger = await newOwner();
    expect(errorOf(await stranger.raw(ROTATE, { id: apiKey.id, grace: 60 }))).toMatchObject({ code: 'NOT_FOUND' });
    expect((await owner.call(GET, { id: apiKey.id })).apiKey.version).toBe(1);
    expect(await verify(secret)).toMatchObject({ valid: true, rotationDeadline: null });
    // 30 days is the most.
    expect((await owner.call(ROTATE, { id: apiKey.id, grace: 30 * 24 * 3600 })).rotateApiKey.apiKey.version).toBe(2);
  });

  it('sets, moves and clears the expiry; an expired key verifies as EXPIRED', async () => {
    const owner = await newOwner();
    const { apiKey, secret } = await create(owner);
    const later = at(api.clock.now().getTime() + 86_400_000);
    expect((await owner.call(UPDATE_EXPIRY, { id: apiKey.id, expiresAt: later })).updateExpiry).toMatchObject({ expiresAt: later, version: 2 });
    expect((await owner.call(UPDATE_EXPIRY, { id: apiKey.id, expiresAt: null })).updateExpiry).toMatchObject({ expiresAt: null, version: 3 });
    expect((await owner.call(UPDATE_EXPIRY, { id: apiKey.id, expiresAt: null })).updateExpiry).toMatchObject({ version: 3 }); // unchanged: no new version
    expect(errorOf(await owner.raw(UPDATE_EXPIRY, { id: apiKey.id, expiresAt: at(api.clock.now().getTime() - 1000) }))).toEqual({ code: 'BAD_USER_INPUT', field: 'expiresAt' });

    expect(errorOf(await owner.raw(UPDATE_EXPIRY, { id: apiKey.id, expiresAt: api.clock.now().toISOString() }))).toEqual({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    const soon = at(api.clock.now().getTime() + 700);
    await owner.call(UPDATE_EXPIRY, { id: apiKey.id, expiresAt: soon });
    expect(await verify(secret)).toMatchObject({ valid: true });
    api.clock.advance(699);
    expect(await verify(secret)).toMatchObject({ valid: true });
    api.clock.advance(1);
    expect(await verify(secret)).toMatchObject({ valid: false, reason: 'EXPIRED', keyId: apiKey.id });
    const history = (await owner.call(HISTORY, { id: apiKey.id })).apiKeyHistory;
    expect(history.filter((event: { type: string }) => event.type === 'ApiKeyExpiryUpdated').map((event: { data: { expiresAt: string | null } }) => event.data.expiresAt)).toEqual([later, null, soon]);
  });

  it('works over graphql-ws too: rotation as a mutation on the socket, and the event on the live feed', async () => {
    const owner = await newOwner();
    const { apiKey } = await create(owner);
    const feed = await api.live(owner, API_KEY_EVENTS_AFTER);
    const socket = feed.client;
    const result = await new Promise<{ data?: { rotateApiKey: { secret: string; apiKey: { version: number } } } }>((resolve, reject) => {
      let value: unknown;
      socket.subscribe({ query: ROTATE, variables: { id: apiKey.id, grace: 60 } }, { next: (message) => (value = message), error: reject, complete: () => resolve(value as never) });
    });
    expect(result.data?.rotateApiKey.apiKey.version).toBe(2);
    expect(await verify(result.data?.rotateApiKey.secret as string)).toMatchObject({ valid: true });
    expect((await feed.next()).apiKeyEvents).toMatchObject({ keyId: apiKey.id, type: 'ApiKeyRotated', version: 2 });
  });
});

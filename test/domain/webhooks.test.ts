import type { WebhookRegistryCommand, WebhookRegistryEvent, WebhookRegistryState } from '../../src/domain/webhooks/webhookRegistry';
import { MAX_WEBHOOKS_PER_ACCOUNT, webhookRegistryDecider } from '../../src/domain/webhooks/webhookRegistry';
import { DEFAULT_RETRY_POLICY, deliveryIdOf, nextAttemptAt, notificationOf } from '../../src/domain/webhooks/notifications';
import { isPublicAddress, webhookTargetProblem } from '../../src/domain/webhooks/webhookUrl';
import { deciderSpecification } from '../support/deciderSpecification';

const spec = deciderSpecification<WebhookRegistryState, WebhookRegistryCommand, WebhookRegistryEvent>(webhookRegistryDecider);
const now = '2026-12-01T00:00:00.000Z';
const create = (webhookId: string, url = 'https://hooks.example.com/keyhub', events: string[] = ['KEY_DISABLED'], production = true): WebhookRegistryCommand => ({
  type: 'CreateWebhook',
  data: { webhookId, accountId: 'acct-1', url, events, now, production },
});
const created = (webhookId: string, accountId = 'acct-1'): WebhookRegistryEvent => ({ type: 'WebhookCreated', data: { webhookId, accountId, url: 'https://hooks.example.com/keyhub', events: ['KEY_DISABLED'], occurredAt: now } });

describe('Webhook registry', () => {
  it('should register an HTTPS endpoint with the event kinds asked for, duplicates dropped', () => {
    spec.given([]).when(create('w1', 'https://hooks.example.com/keyhub', ['KEY_DISABLED', 'KEY_ROTATED', 'KEY_DISABLED'])).then([
      { type: 'WebhookCreated', data: { webhookId: 'w1', accountId: 'acct-1', url: 'https://hooks.example.com/keyhub', events: ['KEY_DISABLED', 'KEY_ROTATED'], occurredAt: now } },
    ]);
  });

  it('should refuse unknown or no event kinds with BAD_USER_INPUT on events', () => {
    spec.given([]).when(create('w1', undefined, [])).thenThrows('BAD_USER_INPUT', 'events');
    spec.given([]).when(create('w1', undefined, ['KEY_EXPLODED'])).thenThrows('BAD_USER_INPUT', 'events');
  });

  it('should refuse more than the maximum of webhooks per account, other accounts\' not counted', () => {
    const mine = Array.from({ length: MAX_WEBHOOKS_PER_ACCOUNT }, (_, i) => created(`w${i}`));
    spec.given(mine).when(create('one-more')).thenThrows('QUOTA_EXCEEDED');
    spec.given([...mine.slice(1), created('theirs', 'acct-2')]).when(create('one-more')).then([expect.objectContaining({ type: 'WebhookCreated' }) as WebhookRegistryEvent]);
  });

  it('should delete only the caller\'s own webhook (another account\'s is NOT_FOUND), and disable once', () => {
    spec.given([created('w1', 'acct-2')]).when({ type: 'DeleteWebhook', data: { webhookId: 'w1', accountId: 'acct-1', now } }).thenThrows('NOT_FOUND');
    spec.given([created('w1')]).when({ type: 'DeleteWebhook', data: { webhookId: 'w1', accountId: 'acct-1', now } }).then([{ type: 'WebhookDeleted', data: { webhookId: 'w1', accountId: 'acct-1', occurredAt: now } }]);
    const disabled: WebhookRegistryEvent = { type: 'WebhookDisabled', data: { webhookId: 'w1', accountId: 'acct-1', reason: 'failing', occurredAt: now } };
    spec.given([created('w1')]).when({ type: 'DisableWebhook', data: { webhookId: 'w1', reason: 'failing', now } }).then([disabled]);
    spec.given([created('w1'), disabled]).when({ type: 'DisableWebhook', data: { webhookId: 'w1', reason: 'failing', now } }).thenNothingHappens();
  });
});

describe('Webhook URLs', () => {
  it.each([
    ['http://hooks.example.com/x', true, /https/],
    ['http://127.0.0.1:8080/x', true, /https/],
    ['ftp://hooks.example.com/x', false, /https/],
    ['not a url', false, /https/],
    ['https://user:pw@hooks.example.com/x', false, /credentials/],
    ['https://10.1.2.3/x', true, /private/],
    ['https://[::1]/x', true, /private/],
    ['https://169.254.169.254/latest/meta-data', true, /private/],
    ['https://localhost/x', true, /private/],
  ])('should refuse %s (production: %s)', (url, production, problem) => {
    expect(webhookTargetProblem(url, { production })).toMatch(problem);
  });

  it('should refuse a URL longer than 2,048 characters', () => {
    expect(webhookTargetProblem(`https://hooks.example.com/${'a'.repeat(2100)}`, { production: false })).toMatch(/2048/);
  });

  it.each([
    ['https://hooks.example.com/x', true],
    ['https://203.0.113.9/x', false],
    ['http://127.0.0.1:8080/x', false],
    ['http://localhost:8080/x', false],
    ['http://[::1]:8080/x', false],
  ])('should accept %s (production: %s)', (url, production) => {
    expect(webhookTargetProblem(url, { production })).toBeNull();
  });

  it('should count only public unicast addresses as public', () => {
    for (const address of ['10.0.0.1', '172.16.0.1', '192.168.1.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '::1', 'fe80::1', 'fc00::1', '::ffff:10.0.0.1', '0.0.0.0']) expect(isPublicAddress(address)).toBe(false);
    for (const address of ['8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect(isPublicAddress(address)).toBe(true);
  });
});

describe('Notifications', () => {
  const key = { keyId: 'k1', accountId: 'acct-1', occurredAt: now };
  it('should stand for leak reports, disabling, deletion and rotation; not for enabling or renaming', () => {
    expect(notificationOf({ type: 'ApiKeyLeakReported', data: { ...key, maskedKey: 'sk-ab***yz', reportedSecret: 'CURRENT' } })).toMatchObject({ kind: 'KEY_LEAK_REPORTED', data: { keyId: 'k1', maskedKey: 'sk-ab***yz' } });
    expect(notificationOf({ type: 'ApiKeyStatusChanged', data: { ...key, status: 'DISABLED', reason: 'LEAKED' } })).toMatchObject({ kind: 'KEY_DISABLED', data: { reason: 'LEAKED' } });
    expect(notificationOf({ type: 'ApiKeyDeleted', data: key })).toMatchObject({ kind: 'KEY_DELETED', accountId: 'acct-1' });
    expect(notificationOf({ type: 'ApiKeyRotated', data: { ...key, maskedKey: 'sk-cd***yz', graceUntil: now, secretHash: 'h' } })?.data).toEqual({ keyId: 'k1', maskedKey: 'sk-cd***yz', previousSecretValidUntil: now });
    expect(notificationOf({ type: 'ApiKeyStatusChanged', data: { ...key, status: 'ENABLED', reason: 'OWNER' } })).toBeNull();
    expect(notificationOf({ type: 'ApiKeyRenamed', data: { ...key, name: 'x' } })).toBeNull();
  });

  it('should give a delivery the same id however often it is scheduled, and another id per webhook', () => {
    expect(deliveryIdOf('evt-1', 'w1')).toBe(deliveryIdOf('evt-1', 'w1'));
    expect(deliveryIdOf('evt-1', 'w1')).not.toBe(deliveryIdOf('evt-1', 'w2'));
  });

  it('should back off exponentially with jitter within the window, then stop', () => {
    const at = (attempt: number, random: number) => (nextAttemptAt(DEFAULT_RETRY_POLICY, attempt, 0, 0, () => random) as number);
    expect([at(1, 0), at(1, 1)]).toEqual([2_500, 5_000]);
    expect([at(3, 0), at(3, 1)]).toEqual([10_000, 20_000]);
    expect(at(20, 1)).toBe(3_600_000); // capped
    expect(nextAttemptAt(DEFAULT_RETRY_POLICY, 30, 0, 86_000_000, () => 1)).toBeNull();
  });
});

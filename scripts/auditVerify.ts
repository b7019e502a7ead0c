import { accountKeyEvents, readKeyEvents, verifyKeyHistory } from '../src/application/auditTrail';
import { keyIdOfStream } from '../src/eventLog/streams';
import { auditKeyring } from '../src/domain/audit/hashChain';
import { logProgress, parseOptions, runAudit } from './auditCli';

const USAGE = 'npm run audit:verify -- --account ACCOUNT [--require-keyed]';

/**
 * Recomputes the hash chain of every key of an account from the event log and reports the first
 * event of each key that does not match. Exit code 0: every history intact; 1: a break was found.
 * Keyed links are checked with AUDIT_HMAC_KEY (and AUDIT_HMAC_RETIRED_KEYS) from the environment;
 * with --require-keyed (or AUDIT_HMAC_REQUIRED=true) an unkeyed link anywhere is a break
 * (UNKEYED_LINK), which catches a history rewritten whole without the key: for keys created after
 * the audit key was set.
 */
runAudit('audit:verify', async ({ store, names }, config) => {
  const { account, 'require-keyed': requireKeyed } = parseOptions({ account: { type: 'string' }, 'require-keyed': { type: 'boolean' } }, USAGE);
  const accountId = account as string;
  const keyring = auditKeyring(config.AUDIT_HMAC_KEY, config.AUDIT_HMAC_RETIRED_KEYS, { requireKeyed: requireKeyed === true || config.AUDIT_HMAC_REQUIRED });
  console.log(`event store: ${names.eventStore}`);
  console.log(keyring.current ? `audit key: ${keyring.current.id}${keyring.byId.size > 1 ? ` (and ${keyring.byId.size - 1} retired)` : ''}` : 'audit key: none (AUDIT_HMAC_KEY unset): keyed links cannot be checked');
  const progress = await logProgress(store, 'finding keys');
  const keyIds = new Set<string>();
  for await (const event of accountKeyEvents(store, accountId, { onRead: progress.read })) {
    const keyId = keyIdOfStream(event.streamId);
    if (keyId !== null && !keyIds.has(keyId)) (keyIds.add(keyId), progress.found());
  }
  progress.stop();
  let broken = 0;
  for (const keyId of keyIds) {
    const result = verifyKeyHistory(keyId, await readKeyEvents(store, keyId), keyring);
    const unkeyed = result.unkeyedEventCount > 0 ? `  ${result.unkeyedEventCount} unkeyed (a store writer could have rewritten those)` : '';
    if (result.intact) {
      console.log(`intact  ${keyId}  ${result.eventCount} events  head ${result.headLink}${unkeyed}`);
    } else {
      broken += 1;
      console.log(`BROKEN  ${keyId}  first event that does not match: version ${result.firstBrokenVersion} (event ${result.firstBrokenEventId}, ${result.problem})`);
    }
  }
  console.log(`${keyIds.size} keys of account ${accountId}: ${keyIds.size - broken} intact, ${broken} broken`);
  return broken === 0 ? 0 : 1;
});

import { accountKeyEvents, readKeyEvents, verifyKeyHistory } from '../src/application/auditTrail';
import { keyIdOfStream } from '../src/eventLog/streams';
import { logProgress, parseOptions, runAudit } from './auditCli';

const USAGE = 'npm run audit:verify -- --account ACCOUNT';

/**
 * Recomputes the hash chain of every key of an account from the event log and reports the first
 * event of each key that does not match. Exit code 0: every history intact; 1: a break was found.
 */
runAudit('audit:verify', async ({ store, names }) => {
  const { account } = parseOptions({ account: { type: 'string' } }, USAGE);
  const accountId = account as string;
  console.log(`event store: ${names.eventStore}`);
  const progress = await logProgress(store, 'finding keys');
  const keyIds = new Set<string>();
  for await (const event of accountKeyEvents(store, accountId, { onRead: progress.read })) {
    const keyId = keyIdOfStream(event.streamId);
    if (keyId !== null && !keyIds.has(keyId)) (keyIds.add(keyId), progress.found());
  }
  progress.stop();
  let broken = 0;
  for (const keyId of keyIds) {
    const result = verifyKeyHistory(keyId, await readKeyEvents(store, keyId));
    if (result.intact) {
      console.log(`intact  ${keyId}  ${result.eventCount} events  head ${result.headLink}`);
    } else {
      broken += 1;
      console.log(`BROKEN  ${keyId}  first event that does not match: version ${result.firstBrokenVersion} (event ${result.firstBrokenEventId}, ${result.problem})`);
    }
  }
  console.log(`${keyIds.size} keys of account ${accountId}: ${keyIds.size - broken} intact, ${broken} broken`);
  return broken === 0 ? 0 : 1;
});

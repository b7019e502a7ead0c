import { LOAD_REQUEST } from '../seed';
import type { SeededKey } from '../seed';
import { DELETE, SET_STATUS, graphql } from '../operations';
import { VERIFY_QUERY } from '../load';
import type { Progress } from '../progress';

export interface RevocationFigures {
  trials: number;
  disables: number;
  deletes: number;
  /** Verifications answered valid after the disable or delete had returned: must be 0. */
  staleAccepts: number;
  /** Trials that could not run as planned (a key not valid beforehand, a failed mutation). */
  failures: number;
  ms: number;
}

/** One verification, alternately over forward auth and GraphQL; true when the key was accepted. */
export async function accepted(port: number, gatewayToken: string, secret: string, viaGraphql: boolean): Promise<boolean> {
  if (viaGraphql) {
    const data = await graphql<{ verifyApiKey: { valid: boolean } }>(port, gatewayToken, VERIFY_QUERY, { key: secret, ...LOAD_REQUEST });
    return data.verifyApiKey.valid;
  }
  const response = await fetch(`http://127.0.0.1:${port}/auth`, {
    headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': LOAD_REQUEST.clientIp, 'x-model': LOAD_REQUEST.model, 'x-service': LOAD_REQUEST.service },
  });
  await response.arrayBuffer();
  return response.status === 200;
}

/**
 * Each trial: verify a key (accepted, so any cache holds it), disable it (every tenth trial:
 * delete it), and as soon as the mutation has returned, verify again: an accept is a stale
 * accept. Disabled keys are enabled again and reused. Several workers run trials concurrently,
 * so revocations race with other keys' verifications and changes.
 */
export async function revocation(options: {
  progress: Progress;
  port: number;
  keys: readonly SeededKey[];
  ownerToken: (accountId: string) => string;
  gatewayToken: string;
  trials: number;
  workers: number;
}): Promise<RevocationFigures> {
  const { port, gatewayToken, ownerToken } = options;
  const figures: RevocationFigures = { trials: 0, disables: 0, deletes: 0, staleAccepts: 0, failures: 0, ms: 0 };
  const available = [...options.keys];
  const bar = options.progress.counter('trials', options.trials);
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    for (let trial = next++; trial < options.trials; trial = next++) {
      const key = available.shift();
      if (!key) throw new Error('ran out of keys for revocation trials');
      const viaGraphql = trial % 2 === 0;
      const remove = trial % 10 === 9;
      try {
        if (!(await accepted(port, gatewayToken, key.secret, viaGraphql))) {
          figures.failures += 1;
          continue;
        }
        if (remove) await graphql(port, ownerToken(key.accountId), DELETE, { id: key.keyId });
        else await graphql(port, ownerToken(key.accountId), SET_STATUS, { id: key.keyId, status: 'DISABLED' });
        if (await accepted(port, gatewayToken, key.secret, viaGraphql)) figures.staleAccepts += 1;
        if (remove) figures.deletes += 1;
        else {
          figures.disables += 1;
          await graphql(port, ownerToken(key.accountId), SET_STATUS, { id: key.keyId, status: 'ENABLED' });
          available.push(key);
        }
      } catch {
        figures.failures += 1;
      }
      figures.trials += 1;
      if (figures.trials % 100 === 0) bar.update(figures.trials);
    }
  };
  await Promise.all(Array.from({ length: options.workers }, worker));
  bar.update(figures.trials);
  bar.stop();
  figures.ms = Date.now() - started;
  return figures;
}

import type { SeededKey } from '../seed';
import { SET_STATUS, graphql } from '../operations';
import type { Progress } from '../progress';
import { percentile } from '../stats';
import { accepted } from './revocation';

/** The bound: a revocation through one process is refused by another on the same DATA_DIR within this. */
export const TWO_PROCESS_BOUND_MS = 50;
/** A trial that has not seen the refusal by then gives up (and counts as a failure). */
const GIVE_UP_MS = 10_000;
/** Verifications after the first refusal, each of which must refuse too. */
const CONFIRMATIONS = 3;

export interface TwoProcessFigures {
  trials: number;
  /** From the disable's response to the other process's first refusal, ms. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Accepts seen by the other process later than TWO_PROCESS_BOUND_MS after the disable returned, or after it had refused once: must be 0. */
  staleAccepts: number;
  failures: number;
}

/**
 * Two service processes on one DATA_DIR. Each trial: the key is accepted by the verifying process
 * (so its cache holds it), it is disabled through the other one, and from the moment the disable
 * returned the verifying process is asked again and again (alternately over /auth and GraphQL)
 * until it refuses; the delay is the figure, and then it is asked CONFIRMATIONS more times. Then the
 * key is enabled again through the same process and reused once the verifier accepts it. The two
 * processes swap roles every trial.
 */
export async function twoProcesses(options: {
  progress: Progress;
  ports: readonly [number, number];
  keys: readonly SeededKey[];
  ownerToken: (accountId: string) => string;
  gatewayToken: string;
  trials: number;
}): Promise<TwoProcessFigures> {
  const { gatewayToken, ownerToken } = options;
  const delays: number[] = [];
  let staleAccepts = 0;
  let failures = 0;
  const bar = options.progress.counter('trials', options.trials);
  const untilAccepted = async (port: number, key: SeededKey): Promise<boolean> => {
    const started = performance.now();
    while (performance.now() - started < GIVE_UP_MS) if (await accepted(port, gatewayToken, key.secret, false)) return true;
    return false;
  };
  for (let trial = 0; trial < options.trials; trial += 1) {
    const key = options.keys[trial % options.keys.length] as SeededKey;
    const [through, at] = trial % 2 === 0 ? options.ports : ([options.ports[1], options.ports[0]] as const);
    try {
      if (!(await untilAccepted(at, key))) {
        failures += 1;
        continue;
      }
      await graphql(through, ownerToken(key.accountId), SET_STATUS, { id: key.keyId, status: 'DISABLED' });
      const returned = performance.now();
      let refusedAfter: number | null = null;
      for (let ask = 0; performance.now() - returned < GIVE_UP_MS; ask += 1) {
        const stillAccepted = await accepted(at, gatewayToken, key.secret, ask % 2 === 1);
        if (!stillAccepted) {
          refusedAfter = performance.now() - returned;
          break;
        }
        if (performance.now() - returned > TWO_PROCESS_BOUND_MS) staleAccepts += 1;
      }
      if (refusedAfter === null) {
        failures += 1;
      } else {
        delays.push(refusedAfter);
        for (let ask = 0; ask < CONFIRMATIONS; ask += 1) if (await accepted(at, gatewayToken, key.secret, ask % 2 === 0)) staleAccepts += 1;
      }
      await graphql(through, ownerToken(key.accountId), SET_STATUS, { id: key.keyId, status: 'ENABLED' });
    } catch {
      failures += 1;
    }
    bar.update(trial + 1);
  }
  bar.stop();
  // Leave every key enabled and seen so by both processes, as the scenarios after this one expect.
  for (const key of options.keys) for (const port of options.ports) if (!(await untilAccepted(port, key))) failures += 1;
  delays.sort((a, b) => a - b);
  return { trials: delays.length, p50Ms: percentile(delays, 0.5), p99Ms: percentile(delays, 0.99), maxMs: delays[delays.length - 1] ?? NaN, staleAccepts, failures };
}

import { performance } from 'node:perf_hooks';
import type { KeyVerifier } from '../application/keyVerifier';
import type { VerificationCache } from '../application/verificationCache';
import type { VerificationResult } from '../domain/verification';
import type { EventStore, Position } from '../ports/eventStore';
import { EventStoreUnavailableError, FORWARDS, START, WrongExpectedVersionError, comparePositions } from '../ports/eventStore';
import type { KeyhubMetrics } from './metrics';

/**
 * `target` with some methods replaced: every other member is the target's own, bound to it (an
 * adapter's private fields stay reachable), so the measured object stands wherever the target did.
 */
function overriding<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property) {
      if (Object.prototype.hasOwnProperty.call(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(object, property, object) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}

const secondsSince = (startedMs: number): number => (performance.now() - startedMs) / 1000;

/** The store, with every append timed and its failures counted by reason. */
export function measuredEventStore(store: EventStore, metrics: KeyhubMetrics): EventStore {
  const appendToStream: EventStore['appendToStream'] = async (streamName, events, options) => {
    const started = performance.now();
    try {
      return await store.appendToStream(streamName, events, options);
    } catch (error) {
      const reason = error instanceof WrongExpectedVersionError ? 'conflict' : error instanceof EventStoreUnavailableError ? 'unavailable' : 'other';
      metrics.appendFailures.inc({ reason });
      throw error;
    } finally {
      metrics.appendSeconds.observe(secondsSince(started));
    }
  };
  return overriding(store, { appendToStream });
}

const outcomeOf = (result: VerificationResult): string => (result.valid ? 'VALID' : result.reason);

/**
 * The verifier, with every verification counted by outcome and timed, under `path` (`auth` for
 * GET /auth, `graphql` for verifyApiKey). An answer from memory stays synchronous.
 */
export function measuredVerifier(verifier: KeyVerifier, metrics: KeyhubMetrics, path: 'auth' | 'graphql'): KeyVerifier {
  const seconds = metrics.verificationSeconds.labels({ path });
  // One labelled child per outcome, found once: labels() hashes its label set on every call, and this runs on every verification.
  const counters = new Map<string, ReturnType<typeof metrics.verifications.labels>>();
  const counterOf = (outcome: string) => {
    let counter = counters.get(outcome);
    if (!counter) counters.set(outcome, (counter = metrics.verifications.labels({ path, outcome })));
    return counter;
  };
  const verifyNow: KeyVerifier['verifyNow'] = (presented, request) => {
    const started = performance.now();
    const done = (outcome: string) => {
      counterOf(outcome).inc();
      seconds.observe(secondsSince(started));
    };
    let answer: ReturnType<KeyVerifier['verifyNow']>;
    try {
      answer = verifier.verifyNow(presented, request);
    } catch (error) {
      done('ERROR');
      throw error;
    }
    if (!(answer instanceof Promise)) {
      done(outcomeOf(answer));
      return answer;
    }
    return answer.then(
      (result) => (done(outcomeOf(result)), result),
      (error: unknown) => {
        done('ERROR');
        throw error;
      },
    );
  };
  return overriding(verifier, { verifyNow, verify: async (presented, request) => verifyNow(presented, request) });
}

/** The cache, with every lookup counted as a hit or a miss. */
export function measuredCache(cache: VerificationCache, metrics: KeyhubMetrics): VerificationCache {
  const hits = metrics.verificationCacheLookups.labels({ result: 'hit' });
  const misses = metrics.verificationCacheLookups.labels({ result: 'miss' });
  const get: VerificationCache['get'] = (hash) => {
    const found = cache.get(hash);
    (found ? hits : misses).inc();
    return found;
  };
  return overriding(cache, { get });
}

/** Lag beyond this many events is reported as this many: a scrape reads at most this much of the log. */
export const MAX_COUNTED_LAG = 10_000;

/**
 * How far a projection at `checkpoint` is behind the log: our events after it (up to
 * MAX_COUNTED_LAG), and the age of the oldest of them. A caught-up projection reads one event.
 */
export async function projectionLag(store: EventStore, checkpoint: Position | null, prefixes: readonly string[], nowMs: number): Promise<{ events: number; seconds: number }> {
  let events = 0;
  let oldestMs: number | null = null;
  for await (const resolved of store.readAll({ fromPosition: checkpoint ?? START, direction: FORWARDS, maxCount: MAX_COUNTED_LAG + 1 })) {
    const event = resolved.event;
    if (!event || (checkpoint !== null && comparePositions(event.position, checkpoint) <= 0)) continue;
    if (!prefixes.some((prefix) => event.streamId.startsWith(prefix))) continue;
    events += 1;
    oldestMs ??= event.created.getTime();
    if (events >= MAX_COUNTED_LAG) break;
  }
  return { events, seconds: oldestMs === null ? 0 : Math.max(0, (nowMs - oldestMs) / 1000) };
}

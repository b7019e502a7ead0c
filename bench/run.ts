/**
 * `npm run bench`: seeds the embedded default (SQLite log in a fresh DATA_DIR), starts the built
 * service and a bare node:http baseline, runs every scenario, prints a table and writes
 * bench/results/latest.json. Flags: --quick (under two minutes), --smoke (seconds, for the test),
 * --keys N, --large N, --out FILE; --verify-only runs only the HTTP verification rows (keyhub and its
 * peers); --scale-only runs only the in-process scale rows (list pages, commands); --noisy-only runs only
 * the noisy-neighbour row. Load goes to 127.0.0.1 only, bounded in time and count.
 */
import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteEventStore } from '../src/adapters/sqlite/sqliteEventStore';
import { JwtAuthenticator } from '../src/auth';
import { LIST_PAGE, graphql } from './operations';
import type { LoadFigures } from './load';
import { forwardAuthRequest, isValidVerdict, load, verifyGraphqlRequest, VERIFY_QUERY } from './load';
import { BENCH_JWT_SECRET, memoryOf, startBaseline, startMinimalApollo, startService } from './processes';
import { Progress } from './progress';
import type { Row } from './report';
import { fmt, machine, table, verdict } from './report';
import { createOverHttp, createdInLog, projectionLag } from './scenarios/createKeys';
import { httpVerification, summarise } from './scenarios/httpVerification';
import { inProcessVerification, rebuild } from './scenarios/inProcess';
import type { NoisyNeighbourFigures } from './scenarios/noisyNeighbour';
import { noisyNeighbour } from './scenarios/noisyNeighbour';
import { BENCH_LIMITS, limitsScenario } from './scenarios/limits';
import { listScale } from './scenarios/listScale';
import { commandScale } from './scenarios/commandScale';
import type { StartupFigures } from './scenarios/startupScale';
import { startupScale } from './scenarios/startupScale';
import { revocation } from './scenarios/revocation';
import { subscribers } from './scenarios/subscribers';
import { TWO_PROCESS_BOUND_MS, twoProcesses } from './scenarios/twoProcesses';
import type { KeyLimitsInput } from '../src/domain/rules/limits';
import type { SeedResult } from './seed';
import { LOAD_REQUEST, seedKeys } from './seed';

const MODES = {
  full: { keys: 10_000, large: 1_000_000, seconds: 10, rounds: 3, trials: 10_000, twoProcessTrials: 500, subscribers: 1_000, createSeconds: 10, lagSeconds: 5, benchMs: 1_000, listSeconds: 5, listSizes: [10_000, 100_000, 1_000_000], bigAccount: 10_000, listRounds: 20, keyEvents: [1, 1_000, 10_000], accountPast: 100_000, commands: 200, startupKeys: 1_000_000, holding: [100, 600, 9_970] },
  quick: { keys: 10_000, large: 100_000, seconds: 3, rounds: 2, trials: 2_000, twoProcessTrials: 200, subscribers: 1_000, createSeconds: 3, lagSeconds: 2, benchMs: 300, listSeconds: 2, listSizes: [10_000, 100_000], bigAccount: 10_000, listRounds: 10, keyEvents: [1, 1_000, 10_000], accountPast: 100_000, commands: 100, startupKeys: 100_000, holding: [100, 600, 9_970] },
  smoke: { keys: 300, large: 1_000, seconds: 0.5, rounds: 1, trials: 40, twoProcessTrials: 10, subscribers: 10, createSeconds: 0.5, lagSeconds: 0.5, benchMs: 30, listSeconds: 0.5, listSizes: [1_000, 2_000], bigAccount: 500, listRounds: 1, keyEvents: [1, 300], accountPast: 1_000, commands: 5, startupKeys: 1_000, holding: [100] },
} as const;
type Mode = { keys: number; twoProcessTrials: number; large: number; listSizes: readonly number[]; bigAccount: number; listRounds: number; keyEvents: readonly number[]; accountPast: number; commands: number; startupKeys: number; holding: readonly number[] } & Record<string, unknown>;
const SAMPLE = 10_000;
const CONNECTIONS = 64;
const CREATE_CLIENTS = 32;
const REVOCATION_WORKERS = 8;
/**
 * The large run's memory budget. Without a limit V8 sizes the heap from the machine's memory
 * (24 GB here) and lets a million keys' rebuild garbage pile up to ~2 GB RSS; with one it collects
 * instead. This is how the service is meant to run under a budget (as a container's memory limit
 * does); the row says so.
 */
const LARGE_HEAP_LIMIT_MB = 1_400;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      keys: { type: 'string' },
      large: { type: 'string' },
      out: { type: 'string' },
      'scale-only': { type: 'boolean', default: false },
      'verify-only': { type: 'boolean', default: false },
      'noisy-only': { type: 'boolean', default: false },
    },
  });
  const modeName = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const mode = { ...MODES[modeName], ...(values.keys ? { keys: Number(values.keys) } : {}), ...(values.large ? { large: Number(values.large) } : {}) };
  if (!Number.isInteger(mode.keys) || mode.keys < 100 || !Number.isInteger(mode.large) || mode.large < mode.keys) {
    throw new Error('--keys must be a whole number ≥ 100 and --large one ≥ --keys');
  }
  const out = values.out ?? join(__dirname, '..', '..', 'bench', 'results', 'latest.json');
  const workDir = mkdtempSync(join(tmpdir(), 'keyhub-bench-'));
  const progress = new Progress(16);
  const started = Date.now();
  const jwt = new JwtAuthenticator(BENCH_JWT_SECRET);
  const gatewayToken = await jwt.sign({ sub: 'bench-gateway', account: 'platform', roles: ['gateway'] });
  const ownerTokens = new Map<string, string>();
  const ownerToken = (accountId: string) => ownerTokens.get(accountId) as string;
  const rows: Row[] = [];
  progress.note(`mode ${modeName}: ${mode.keys.toLocaleString('en-US')} keys, then ${mode.large.toLocaleString('en-US')}; work dir ${workDir}`);

  if (values['scale-only']) {
    rows.push(...(await scaleRows(mode, progress)));
    writeReport(out, modeName, mode, started, rows);
    rmSync(workDir, { recursive: true, force: true });
    return;
  }

  try {
    // ---- Standard data set: N keys ------------------------------------------------------------
    progress.announce(`seeding ${mode.keys.toLocaleString('en-US')} keys (ApiKeyCreated events from the domain's decide, appended in batches)`);
    const standardDir = join(workDir, 'standard');
    const standard = await seed(join(standardDir, 'events.sqlite'), mode.keys, true, progress);
    const keysFile = join(workDir, 'baseline-keys.json');
    writeFileSync(keysFile, JSON.stringify(standard.index));
    for (const key of standard.sample) if (!ownerTokens.has(key.accountId)) ownerTokens.set(key.accountId, await jwt.sign({ sub: 'bench-owner', account: key.accountId, roles: [] }));
    const secrets = standard.sample.map((key) => key.secret);

    progress.announce('starting the service (embedded default) and its peers: the node:http baseline (bare verifier and bare JSON endpoint) and a minimal Apollo server');
    const service = await startService(standardDir, { KEY_LIMIT_DEFAULT: '10000' });
    const baseline = await startBaseline(keysFile);
    const minimalApollo = await startMinimalApollo(keysFile);
    progress.note(`service on :${service.port} (started in ${service.startMs} ms), baseline on :${baseline.port}, minimal Apollo on :${minimalApollo.port}`);
    /** Other tenants' verification with and without one account's flood; `sample` holds keys that still verify. */
    const runNoisyNeighbour = (sample: SeedResult['sample']) => {
      progress.announce('noisy neighbour: other tenants\' verification p99 without and during one account\'s flood of expensive operations');
      const attacker = sample[sample.length - 1] as SeedResult['sample'][number];
      return noisyNeighbour({
        progress,
        port: service.port,
        victimSecrets: sample.filter((key) => key.accountId !== attacker.accountId).map((key) => key.secret),
        gatewayToken,
        attackerToken: ownerToken(attacker.accountId),
        attackerKeyId: attacker.keyId,
        seconds: mode.seconds,
      });
    };
    try {
      await checkSample(service.port, gatewayToken, secrets, progress);
      if (values['noisy-only']) {
        await minimalApollo.stop();
        rows.push(noisyNeighbourRow(await runNoisyNeighbour(standard.sample)));
        writeReport(out, modeName, mode, started, rows);
        return;
      }

      progress.announce(`HTTP verification: keyhub's verifyApiKey over GraphQL and GET /auth beside their peers, ${CONNECTIONS} connections, alternating`);
      const http = await httpVerification({ progress, servicePort: service.port, baselinePort: baseline.port, minimalApolloPort: minimalApollo.port, secrets, gatewayToken, rounds: mode.rounds, seconds: mode.seconds, connections: CONNECTIONS });
      await minimalApollo.stop();
      const base = summarise(http.baseline);
      const gql = summarise(http.graphql);
      const fwd = summarise(http.forwardAuth);
      rows.push(verifyGraphqlRow(gql, summarise(http.bareJson), summarise(http.minimalApollo), base));
      rows.push(httpRow('forward-auth', `forward-auth GET /auth, ${CONNECTIONS} connections`, fwd, base, 0.9, 5));
      if (values['verify-only']) {
        writeReport(out, modeName, mode, started, rows);
        return;
      }

      progress.announce(`limits: ${mode.keys.toLocaleString('en-US')} keys with every limit set, /auth against the same without limits; token reports in batches of 100`);
      const limitedDir = join(workDir, 'limited');
      const limitedSeed = await seed(join(limitedDir, 'events.sqlite'), mode.keys, false, progress, BENCH_LIMITS);
      const limitedService = await startService(limitedDir, { KEY_LIMIT_DEFAULT: '10000' });
      try {
        await checkSample(limitedService.port, gatewayToken, limitedSeed.sample.map((key) => key.secret), progress);
        const limits = await limitsScenario({
          progress,
          plainPort: service.port,
          limitedPort: limitedService.port,
          plainSecrets: secrets,
          limitedSecrets: limitedSeed.sample.map((key) => key.secret),
          limitedKeyIds: limitedSeed.sample.map((key) => key.keyId),
          gatewayToken,
          rounds: mode.rounds,
          seconds: mode.seconds,
          connections: CONNECTIONS,
        });
        rows.push({
          id: 'limits',
          scenario: `GET /auth with every limit set on every key, against the same without limits, ${CONNECTIONS} connections`,
          target: '≥ 0.9× the figure without limits',
          measured: `${fmt(limits.withLimits.requestsPerSecond)}/s with limits vs ${fmt(limits.withoutLimits.requestsPerSecond)}/s without (×${fmt(limits.ratio, 2)}); p99 ${fmt(limits.withLimits.p99Ms, 1)} ms vs ${fmt(limits.withoutLimits.p99Ms, 1)} ms`,
          verdict: verdict([limits.ratio], limits.ratio >= 0.9 && limits.withLimits.failures + limits.withoutLimits.failures === 0),
          figures: { withLimits: limits.withLimits, withoutLimits: limits.withoutLimits, ratio: limits.ratio },
        });
        rows.push({
          id: 'token-usage',
          scenario: `token reports in batches of 100, ${CONNECTIONS} connections`,
          target: '≥ 50,000 entries per second (recordTokenUsage)',
          measured: `${fmt(limits.graphqlEntriesPerSecond)} entries/s through recordTokenUsage (p99 ${fmt(limits.graphql.p99Ms, 1)} ms, ${limits.graphql.failures} failed); ${fmt(limits.postEntriesPerSecond)} entries/s through POST /usage (p99 ${fmt(limits.post.p99Ms, 1)} ms, ${limits.post.failures} failed)`,
          verdict: verdict([limits.graphqlEntriesPerSecond], limits.graphqlEntriesPerSecond >= 50_000 && limits.graphql.failures + limits.post.failures === 0),
          figures: { graphqlEntriesPerSecond: limits.graphqlEntriesPerSecond, postEntriesPerSecond: limits.postEntriesPerSecond, graphql: limits.graphql, post: limits.post },
        });
      } finally {
        await limitedService.stop();
      }

      progress.announce('a list page (apiKeys, first: 20) with 8 connections');
      const accountsWithTokens = [...ownerTokens.values()];
      const listStandard = await listPages(service.port, accountsWithTokens, mode.listSeconds, progress);

      progress.announce(`revocation: ${mode.trials.toLocaleString('en-US')} trials (disable or delete returned, then the next verification)`);
      const subscriberKey = standard.sample[0] as SeedResult['sample'][number];
      const pool = standard.sample.slice(1, Math.max(2, Math.floor(standard.sample.length / 2)));
      const revoked = await revocation({ progress, port: service.port, keys: pool, ownerToken, gatewayToken, trials: mode.trials, workers: REVOCATION_WORKERS });
      rows.push({
        id: 'revocation',
        scenario: 'revocation: a disable or delete returned, then the next verification',
        target: `0 stale accepts in ${mode.trials.toLocaleString('en-US')} trials`,
        measured: `${revoked.staleAccepts} stale accepts in ${revoked.trials.toLocaleString('en-US')} trials (${revoked.disables} disables, ${revoked.deletes} deletes, ${revoked.failures} failed trials)`,
        verdict: verdict([revoked.trials], revoked.staleAccepts === 0 && revoked.failures === 0 && revoked.trials >= mode.trials),
        figures: { ...revoked },
      });

      progress.announce(`two processes on one DATA_DIR: ${mode.twoProcessTrials} trials (disable through one, verify through the other until refused)`);
      const secondService = await startService(standardDir, { KEY_LIMIT_DEFAULT: '10000' });
      try {
        const shared = standard.sample.slice(Math.floor(standard.sample.length / 2)).slice(0, Math.min(mode.twoProcessTrials, 100));
        const both = await twoProcesses({ progress, ports: [service.port, secondService.port], keys: shared, ownerToken, gatewayToken, trials: mode.twoProcessTrials });
        rows.push({
          id: 'two-processes',
          scenario: 'revocation seen by a second process on the same DATA_DIR: disable through one, verify through the other until refused',
          target: `p99 ≤ ${TWO_PROCESS_BOUND_MS} ms, 0 stale accepts after that`,
          measured: `p50 ${fmt(both.p50Ms, 1)} ms, p99 ${fmt(both.p99Ms, 1)} ms, max ${fmt(both.maxMs, 1)} ms over ${both.trials} trials; ${both.staleAccepts} stale accepts, ${both.failures} failed trials`,
          verdict: verdict([both.p99Ms], both.p99Ms <= TWO_PROCESS_BOUND_MS && both.staleAccepts === 0 && both.failures === 0 && both.trials >= mode.twoProcessTrials),
          figures: { ...both },
        });
      } finally {
        await secondService.stop();
      }

      progress.announce(`${mode.subscribers} graphql-ws subscribers of one account, one status change`);
      const subs = await subscribers({ progress, port: service.port, ownerToken: ownerToken(subscriberKey.accountId), keyId: subscriberKey.keyId, count: mode.subscribers });
      rows.push({
        id: 'subscribers',
        scenario: `${mode.subscribers.toLocaleString('en-US')} graphql-ws subscribers of one account, one status change`,
        target: 'all receive it, p99 ≤ 200 ms',
        measured: `${subs.received}/${subs.subscribers} received; p50 ${fmt(subs.p50Ms, 1)} ms, p99 ${fmt(subs.p99Ms, 1)} ms, max ${fmt(subs.maxMs, 1)} ms`,
        verdict: verdict([subs.p99Ms], subs.received === subs.subscribers && subs.p99Ms <= 200),
        figures: { ...subs },
      });

      rows.push(noisyNeighbourRow(await runNoisyNeighbour(standard.sample.slice(Math.floor(standard.sample.length / 2)))));

      progress.announce(`createApiKey over GraphQL, ${CREATE_CLIENTS} concurrent clients`);
      const creatorTokens = await Promise.all(Array.from({ length: 2_000 }, (_, i) => jwt.sign({ sub: 'bench-creator', account: `bench-new-${i}`, roles: [] })));
      const created = await createOverHttp({ progress, port: service.port, accountTokens: creatorTokens, connections: CREATE_CLIENTS, seconds: mode.createSeconds });
      const standardMemory = memoryOf(service.child.pid as number);
      await service.stop();
      const acknowledged = created.requests - created.failures;
      const inLog = (await createdInLog(join(standardDir, 'events.sqlite'))) - mode.keys;

      progress.announce('projection lag: the same write path in process, timed from append acknowledgement to read model');
      const lag = await projectionLag({ progress, file: join(workDir, 'lag', 'events.sqlite'), writers: CREATE_CLIENTS, seconds: mode.lagSeconds });
      rows.push({
        id: 'create',
        scenario: `createApiKey with ${CREATE_CLIENTS} concurrent clients, every acknowledged write durable`,
        target: '≥ 2,000 per second; projection lag p99 ≤ 20 ms',
        measured:
          `${fmt(created.requestsPerSecond)}/s over GraphQL (p99 ${fmt(created.p99Ms, 1)} ms, ${created.failures} failed); ` +
          `${acknowledged.toLocaleString('en-US')} acknowledged, ${inLog.toLocaleString('en-US')} in the log; ` +
          `projection lag p50 ${fmt(lag.lagP50Ms, 2)} ms, p99 ${fmt(lag.lagP99Ms, 2)} ms (in process, ${fmt(lag.createsPerSecond)} creates/s)`,
        verdict: verdict([created.requestsPerSecond, lag.lagP99Ms], created.requestsPerSecond >= 2000 && created.failures === 0 && inLog >= acknowledged && lag.lagP99Ms <= 20),
        figures: { http: created, acknowledged, createdInLog: inLog, projectionLag: lag },
      });

      // ---- In process: verification figures and a rebuild of the standard log ------------------
      progress.announce('in-process verification (tinybench, one core)');
      const rebuilt = await rebuild(join(standardDir, 'events.sqlite'));
      const unrevoked = standard.sample.slice(Math.floor(standard.sample.length / 2)).map((key) => key.secret);
      const inProcess = await inProcessVerification({ progress, readModel: rebuilt.readModel, verifier: rebuilt.verifier, secrets: unrevoked, timeMs: mode.benchMs });
      await rebuilt.close();
      rows.push({
        id: 'in-process',
        scenario: 'in-process verification (hash, lookup, status/expiry/IP/scope checks)',
        target: '≥ 1,000,000 per second on one core',
        measured:
          `${fmt(inProcess.verificationsPerSecond)}/s (cache hit, verifyNow as /auth runs it); ${fmt(inProcess.asyncPerSecond)}/s through the async verify (GraphQL); ` +
          `${fmt(inProcess.uncachedPerSecond)}/s uncached (read model lookup); ` +
          `SHA-256 alone ${fmt(inProcess.sha256PerSecond)}/s, checks alone ${fmt(inProcess.checkAccessPerSecond)}/s`,
        verdict: verdict([inProcess.verificationsPerSecond], inProcess.verificationsPerSecond >= 1_000_000),
        figures: { ...inProcess },
      });

      // ---- Large data set ------------------------------------------------------------------------
      progress.announce(`seeding ${mode.large.toLocaleString('en-US')} keys`);
      const largeDir = join(workDir, 'large');
      const large = await seed(join(largeDir, 'events.sqlite'), mode.large, false, progress);
      for (const key of large.sample) if (!ownerTokens.has(key.accountId)) ownerTokens.set(key.accountId, await jwt.sign({ sub: 'bench-owner', account: key.accountId, roles: [] }));

      progress.announce(`starting the service on ${mode.large.toLocaleString('en-US')} keys (rebuild included)`);
      const largeService = await startService(largeDir, {}, [`--max-old-space-size=${LARGE_HEAP_LIMIT_MB}`]);
      const afterStart = memoryOf(largeService.child.pid as number);
      progress.note(`listening after ${largeService.startMs} ms (service reports ${largeService.reportedStartupMs} ms), RSS ${fmt(afterStart.rssMb)} MB`);
      let largeGql: LoadFigures;
      let largeFwd: LoadFigures;
      let listLarge: LoadFigures;
      let largeMemory = afterStart;
      try {
        const largeSecrets = large.sample.map((key) => key.secret);
        await checkSample(largeService.port, gatewayToken, largeSecrets, progress);
        progress.announce(`verification and list pages on ${mode.large.toLocaleString('en-US')} keys`);
        const warm = Math.max(0.5, Math.min(2, mode.seconds / 3));
        await progress.timed('warm-up', warm, () => load({ port: largeService.port, connections: CONNECTIONS, durationSeconds: warm, method: 'GET', path: '/auth', request: forwardAuthRequest(largeSecrets) }));
        largeGql = await progress.timed('verifyApiKey over GraphQL', mode.seconds, () =>
          load({ port: largeService.port, connections: CONNECTIONS, durationSeconds: mode.seconds, method: 'POST', path: '/graphql', request: verifyGraphqlRequest(largeSecrets, gatewayToken), accept: isValidVerdict }),
        );
        largeFwd = await progress.timed('GET /auth', mode.seconds, () =>
          load({ port: largeService.port, connections: CONNECTIONS, durationSeconds: mode.seconds, method: 'GET', path: '/auth', request: forwardAuthRequest(largeSecrets) }),
        );
        listLarge = await listPages(largeService.port, [...new Set(large.sample.map((key) => ownerToken(key.accountId)))], mode.listSeconds, progress);
      } finally {
        largeMemory = memoryOf(largeService.child.pid as number);
        await largeService.stop();
      }
      progress.announce(`rebuild of the read model from the ${mode.large.toLocaleString('en-US')}-key log, in process`);
      const largeRebuild = await rebuild(join(largeDir, 'events.sqlite'));
      await largeRebuild.close();
      rows.push({
        id: 'rebuild',
        scenario: 'rebuild of the read model from the log',
        target: '≥ 200,000 events per second',
        measured: `${fmt(largeRebuild.figures.eventsPerSecond)} events/s (${largeRebuild.figures.events.toLocaleString('en-US')} events in ${fmt(largeRebuild.figures.ms / 1000, 2)} s); ${fmt(rebuilt.figures.eventsPerSecond)} events/s on the ${mode.keys.toLocaleString('en-US')}-key log`,
        verdict: verdict([largeRebuild.figures.eventsPerSecond], largeRebuild.figures.eventsPerSecond >= 200_000),
        figures: { large: largeRebuild.figures, standard: rebuilt.figures },
      });
      const p99Ratio = Math.max(largeGql.p99Ms / gql.p99Ms, largeFwd.p99Ms / fwd.p99Ms);
      rows.push({
        id: 'scale',
        scenario: `${mode.large.toLocaleString('en-US')} keys`,
        target: 'RSS ≤ 1.5 GB; verification p99 within 1.2× of the 10,000-key figure; a list page p99 ≤ 20 ms; start-up (rebuild included) ≤ 15 s',
        measured:
          `RSS ${fmt(afterStart.rssMb)} MB after start, peak ${fmt(largeMemory.peakRssMb)} MB (heap limit ${fmt(LARGE_HEAP_LIMIT_MB)} MB); ` +
          `verification p99 GraphQL ${fmt(largeGql.p99Ms, 1)} ms vs ${fmt(gql.p99Ms, 1)} ms, /auth ${fmt(largeFwd.p99Ms, 1)} ms vs ${fmt(fwd.p99Ms, 1)} ms (×${fmt(p99Ratio, 2)}); ` +
          `list page p99 ${fmt(listLarge.p99Ms, 1)} ms (${fmt(listStandard.p99Ms, 1)} ms at ${mode.keys.toLocaleString('en-US')}); start-up ${fmt(largeService.startMs / 1000, 1)} s`,
        verdict: verdict(
          [largeMemory.peakRssMb, p99Ratio, listLarge.p99Ms],
          largeMemory.peakRssMb <= 1536 && p99Ratio <= 1.2 && listLarge.p99Ms <= 20 && largeService.startMs <= 15_000 && largeGql.failures + largeFwd.failures + listLarge.failures === 0,
        ),
        figures: {
          keys: mode.large,
          heapLimitMb: LARGE_HEAP_LIMIT_MB,
          seedMs: large.ms,
          startMs: largeService.startMs,
          reportedStartupMs: largeService.reportedStartupMs,
          memoryAfterStart: afterStart,
          memoryAfterLoad: largeMemory,
          standardServiceMemory: standardMemory,
          verifyGraphql: largeGql,
          forwardAuth: largeFwd,
          listPage: listLarge,
          listPageStandard: listStandard,
          p99Ratio,
        },
      });
    } finally {
      await service.stop();
      await baseline.stop();
      await minimalApollo.stop();
    }

    rows.push(...(await scaleRows(mode, progress)));
    writeReport(out, modeName, mode, started, rows);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

const ROW_ORDER = ['verify-graphql', 'forward-auth', 'limits', 'token-usage', 'in-process', 'create', 'revocation', 'two-processes', 'rebuild', 'scale', 'list-scale', 'command-scale', 'startup-scale', 'subscribers', 'noisy-neighbour'];

function writeReport(out: string, modeName: string, mode: Mode, started: number, rows: Row[]): void {
  rows.sort((a, b) => ROW_ORDER.indexOf(a.id) - ROW_ORDER.indexOf(b.id));
  const report = {
    date: new Date().toISOString(),
    mode: modeName,
    keys: { standard: mode.keys, large: mode.large },
    settings: { ...mode, connections: CONNECTIONS, createClients: CREATE_CLIENTS, revocationWorkers: REVOCATION_WORKERS },
    machine: machine(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    rows,
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  const m = report.machine;
  console.log(`\nkeyhub bench (${modeName}) ${report.date}: ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, Node ${m.node}; ${report.durationSeconds} s; load average ${m.loadAverage.join(' ')}\n`);
  console.log(table(rows));
  console.log(`\nwritten to ${out}`);
}

/** Costs that must stay flat as the data grows, measured in process (no HTTP): list pages. */
async function scaleRows(mode: Mode, progress: Progress): Promise<Row[]> {
  progress.announce(`list pages in the in-process read model at ${mode.listSizes.map((n) => n.toLocaleString('en-US')).join(' / ')} keys, and one account of ${mode.bigAccount.toLocaleString('en-US')} keys`);
  const list = await listScale({ progress, sizes: mode.listSizes, bigAccount: mode.bigAccount, rounds: mode.listRounds });
  const worst = Math.max(...list.bySize.map((figures) => figures.p99Ms));
  return [
    {
      id: 'list-scale',
      scenario: 'a list page (find + count; every filter, order, first and next page), in process',
      target: `p99 ≤ 5 ms for an account of 50 keys at every size; ≤ 20 ms for an account of ${mode.bigAccount.toLocaleString('en-US')} keys with search`,
      measured:
        list.bySize.map((figures) => `${figures.totalKeys.toLocaleString('en-US')} keys: p99 ${fmt(figures.p99Ms, 2)} ms (p50 ${fmt(figures.p50Ms, 2)})`).join('; ') +
        `; account of ${list.bigAccount.keys.toLocaleString('en-US')} keys with search: p99 ${fmt(list.bigAccount.p99Ms, 2)} ms (p50 ${fmt(list.bigAccount.p50Ms, 2)})`,
      verdict: verdict([worst, list.bigAccount.p99Ms], worst <= 5 && list.bigAccount.p99Ms <= 20),
      figures: { bySize: list.bySize, bigAccount: list.bigAccount },
    },
    commandRow(await commandScale({ progress, keyEvents: mode.keyEvents, accountPast: mode.accountPast, commands: mode.commands, holding: mode.holding })),
    startupRow(await startupScale({ progress, keys: mode.startupKeys, tail: Math.max(100, mode.startupKeys / 100) })),
  ];
}

function startupRow(figures: StartupFigures): Row {
  const keys = figures.keys.toLocaleString('en-US');
  return {
    id: 'startup-scale',
    scenario: `read model at start with ${keys} keys: rebuilt from the log vs loaded from its snapshot in DATA_DIR, in process`,
    target: 'start-up with 1,000,000 keys ≤ 5 s',
    measured:
      `rebuild ${fmt(figures.rebuildMs / 1000, 2)} s (${figures.events.toLocaleString('en-US')} events); ` +
      `snapshot load + catch-up of ${figures.catchUpEvents.toLocaleString('en-US')} events ${fmt(figures.loadMs / 1000, 2)} s (heap ${fmt(figures.loadedHeapMb)} MB); ` +
      `snapshot written in the background in ${fmt(figures.snapshotWriteMs / 1000, 2)} s (${fmt(figures.snapshotMb)} MB, longest event-loop stall ${fmt(figures.writeStallMaxMs, 1)} ms)`,
    verdict: verdict([figures.loadMs], figures.loadMs <= 5_000 && figures.keys >= 1_000_000),
    figures: { ...figures },
  };
}

function commandRow(figures: Awaited<ReturnType<typeof commandScale>>): Row {
  const [fresh, ...longer] = figures.renames;
  const [freshAccount, busyAccount] = figures.creates;
  const renameRatio = Math.max(...longer.map((figure) => figure.p50Ms / (fresh?.p50Ms ?? NaN)));
  const createRatio = (busyAccount?.p50Ms ?? NaN) / (freshAccount?.p50Ms ?? NaN);
  const line = (figure: { pastEvents: number; p50Ms: number; p99Ms: number; fullFoldMs: number }) =>
    `${figure.pastEvents.toLocaleString('en-US')} events: p50 ${fmt(figure.p50Ms, 2)} ms, p99 ${fmt(figure.p99Ms, 2)} ms (whole-stream fold ${fmt(figure.fullFoldMs, 1)} ms)`;
  return {
    id: 'command-scale',
    scenario: 'command latency against stream length (snapshots), embedded log with fsync',
    target: 'rename on a key with 1,000 / 10,000 events and create in an account with 100,000 past creates and deletes: p50 ≤ 1.5× the 1-event / fresh-account figure; 20 concurrent creates in an account holding 100 / 600 / ~10,000 keys ≤ 100 ms',
    measured:
      `rename on a key with ${figures.renames.map(line).join('; ')} (×${fmt(renameRatio, 2)}); ` +
      `create in an account with ${figures.creates.map(line).join('; ')} (×${fmt(createRatio, 2)}); ` +
      `20 concurrent creates in an account holding ${figures.concurrent.map((c) => `${c.holding.toLocaleString('en-US')} keys: ${fmt(c.ms)} ms${c.failed ? ` (${c.failed} failed)` : ''}`).join(', ')}`,
    verdict: verdict([renameRatio, createRatio], renameRatio <= 1.5 && createRatio <= 1.5 && figures.concurrent.every((c) => c.ms <= 100 && c.failed === 0)),
    figures: { ...figures, renameRatio, createRatio },
  };
}

async function seed(file: string, keys: number, keepIndex: boolean, progress: Progress, limits?: KeyLimitsInput): Promise<SeedResult> {
  const store = new SqliteEventStore(file);
  const bar = progress.counter('keys', keys);
  try {
    const result = await seedKeys(store, { keys, sampleSize: Math.min(keys, SAMPLE), keepIndex, onProgress: (done) => bar.update(done), ...(limits ? { limits } : {}) });
    bar.stop();
    progress.note(`${result.events.toLocaleString('en-US')} events in ${fmt(result.ms / 1000, 1)} s over ${result.accounts.length.toLocaleString('en-US')} accounts`);
    return result;
  } finally {
    await store.dispose();
  }
}

/** A sample of seeded keys must verify through the API before any figure counts. */
async function checkSample(port: number, gatewayToken: string, secrets: readonly string[], progress: Progress): Promise<void> {
  const step = Math.max(1, Math.floor(secrets.length / 100));
  let checked = 0;
  for (let i = 0; i < secrets.length; i += step) {
    const { verifyApiKey } = await graphql<{ verifyApiKey: { valid: boolean; reason: string | null } }>(port, gatewayToken, VERIFY_QUERY, { key: secrets[i], ...LOAD_REQUEST });
    if (!verifyApiKey.valid) throw new Error(`seeded key ${i} does not verify: ${verifyApiKey.reason}`);
    checked += 1;
  }
  progress.note(`${checked} sampled seeded keys verify as valid`);
}

function listPages(port: number, tokens: readonly string[], seconds: number, progress: Progress): Promise<LoadFigures> {
  return progress.timed('list pages, 8 connections', seconds, () =>
    load({
      port,
      connections: 8,
      durationSeconds: seconds,
      method: 'POST',
      path: '/graphql',
      request: (i) => ({ headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[i % tokens.length]}` }, body: JSON.stringify({ query: LIST_PAGE }) }),
      accept: (body) => body.includes('"totalCount"'),
    }),
  );
}

function noisyNeighbourRow(figures: NoisyNeighbourFigures): Row {
  const { quiet, flooded, ratios, flood } = figures;
  const refusals = (refused: Record<string, number>) =>
    Object.entries(refused)
      .map(([code, count]) => `${count.toLocaleString('en-US')} ${code}`)
      .join(', ') || 'none';
  return {
    id: 'noisy-neighbour',
    scenario: "other tenants' verification while one account floods the API with the most expensive operations admitted (HTTP and graphql-ws)",
    target: "other tenants' p99 under the flood ≤ 2× without it; the flood gets coded refusals, never timeouts",
    measured:
      `/auth p99 ${fmt(quiet.forwardAuth.p99Ms, 1)} → ${fmt(flooded.forwardAuth.p99Ms, 1)} ms (×${fmt(ratios.forwardAuth, 2)}), ` +
      `verifyApiKey p99 ${fmt(quiet.graphql.p99Ms, 1)} → ${fmt(flooded.graphql.p99Ms, 1)} ms (×${fmt(ratios.graphql, 2)}); ` +
      `flood over HTTP: ${flood.http.requests.toLocaleString('en-US')} requests, ${flood.http.admitted.toLocaleString('en-US')} admitted, refused: ${refusals(flood.http.refused)}, ${flood.http.timeouts} timeouts; ` +
      `over graphql-ws: ${flood.ws.subscriptions.toLocaleString('en-US')} subscriptions, ${flood.ws.admitted.toLocaleString('en-US')} admitted, refused: ${refusals(flood.ws.refused)}`,
    verdict: verdict(
      [ratios.forwardAuth, ratios.graphql],
      ratios.forwardAuth <= 2 && ratios.graphql <= 2 && flood.http.timeouts === 0 && quiet.forwardAuth.failures + flooded.forwardAuth.failures + quiet.graphql.failures + flooded.graphql.failures === 0,
    ),
    figures: { ...figures },
  };
}

/** verifyApiKey over GraphQL as a ratio to the bare JSON endpoint (the target) and to the minimal Apollo server, both measured beside it. */
function verifyGraphqlRow(measured: LoadFigures, bareJson: LoadFigures, minimalApollo: LoadFigures, bareVerifier: LoadFigures): Row {
  const ratio = measured.requestsPerSecond / bareJson.requestsPerSecond;
  const apolloRatio = measured.requestsPerSecond / minimalApollo.requestsPerSecond;
  const peer = (name: string, figures: LoadFigures) => `${name} ${fmt(figures.requestsPerSecond)} req/s (p99 ${fmt(figures.p99Ms, 1)} ms)`;
  return {
    id: 'verify-graphql',
    scenario: `verifyApiKey over GraphQL, ${CONNECTIONS} connections`,
    target: "≥ 0.5× the bare JSON endpoint's requests/s (same body, same JSON answer); p99 ≤ 10 ms",
    measured:
      `${fmt(measured.requestsPerSecond)} req/s = ${fmt(ratio, 2)}× the bare JSON endpoint, ${fmt(apolloRatio, 2)}× minimal Apollo, ${fmt(measured.requestsPerSecond / bareVerifier.requestsPerSecond, 2)}× the bare verifier; ` +
      `peers: ${peer('bare JSON', bareJson)}, ${peer('minimal Apollo', minimalApollo)}; p50 ${fmt(measured.p50Ms, 1)} ms, p99 ${fmt(measured.p99Ms, 1)} ms; ${measured.failures} failed of ${measured.requests.toLocaleString('en-US')}`,
    verdict: verdict([ratio, measured.p99Ms], ratio >= 0.5 && measured.p99Ms <= 10 && measured.failures + bareJson.failures + minimalApollo.failures === 0),
    figures: { service: measured, bareJson, minimalApollo, bareVerifier, ratio, apolloRatio },
  };
}

function httpRow(id: string, scenario: string, measured: LoadFigures, baseline: LoadFigures, minRatio: number, maxP99: number): Row {
  const ratio = measured.requestsPerSecond / baseline.requestsPerSecond;
  return {
    id,
    scenario,
    target: `≥ ${minRatio}× the bare verifier's requests/s (measured beside it); p99 ≤ ${maxP99} ms`,
    measured:
      `${fmt(measured.requestsPerSecond)} req/s = ${fmt(ratio, 2)}× the bare verifier (${fmt(baseline.requestsPerSecond)} req/s, p99 ${fmt(baseline.p99Ms, 1)} ms); ` +
      `p50 ${fmt(measured.p50Ms, 1)} ms, p99 ${fmt(measured.p99Ms, 1)} ms; ${measured.failures} failed of ${measured.requests.toLocaleString('en-US')}`,
    verdict: verdict([ratio, measured.p99Ms], ratio >= minRatio && measured.p99Ms <= maxP99 && measured.failures === 0),
    figures: { service: measured, baseline, ratio },
  };
}

main().catch((error: unknown) => {
  console.error('bench failed:', error);
  process.exit(1);
});

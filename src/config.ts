import { z } from 'zod';
import { DEFAULT_KEY_LIMIT, KEY_LIMIT_MAX } from './domain/account/account';
import { isRegion } from './domain/rules/region';
import { trustProxyProblem } from './http/clientAddress';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  // Unset: 127.0.0.1 outside production (a development server is not reachable from the network), 0.0.0.0 in production.
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters (HS256 wants 256 bits)').optional(),
  // When set, a token's iss (issuer) and aud (audience) claims must name these.
  JWT_ISSUER: z.string().max(512, 'JWT_ISSUER must be at most 512 characters').optional(),
  JWT_AUDIENCE: z.string().max(512, 'JWT_AUDIENCE must be at most 512 characters').optional(),
  // The models and services the console's scope picker offers: a JSON file { "models": [...], "services": [...] }.
  SCOPE_CATALOG_FILE: z.string().min(1).max(4096).optional(),
  DEFAULT_REGION: z.string().refine(isRegion, 'DEFAULT_REGION must look like us-east-1').default('default'),
  KEY_LIMIT_DEFAULT: z.coerce.number().int().min(0).max(KEY_LIMIT_MAX).default(DEFAULT_KEY_LIMIT),
  // Usage (last use, counts toward limits and usage buckets) is written at most once per key per flush; on several instances each sees the others' counts about this late.
  USAGE_FLUSH_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  // How long usage buckets are kept; 0 keeps them forever.
  USAGE_RETENTION_MINUTE_HOURS: z.coerce.number().int().min(0).max(8760).default(48),
  USAGE_RETENTION_HOUR_DAYS: z.coerce.number().int().min(0).max(3650).default(90),
  USAGE_RETENTION_DAY_DAYS: z.coerce.number().int().min(0).max(36500).default(0),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  EVENTSTORE_URL: z.string().regex(/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover):\/\//, 'EVENTSTORE_URL must be an esdb:// connection string').optional(),
  MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'MONGODB_URL must be a mongodb:// connection string').optional(),
  MONGODB_DB: z.string().min(1).default('keyhub'),
  // GraphQL operations one account may start per second (verifyApiKey and /auth are not counted: gateways call them for every account).
  ACCOUNT_REQUESTS_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // Leak reports (unauthenticated) allowed per client address (IPv6: per /64) per minute.
  LEAK_REPORTS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(10),
  // Leak reports from all addresses together per minute: bounds clients that can present many addresses.
  LEAK_REPORTS_PER_MINUTE_TOTAL: z.coerce.number().int().min(1).max(1_000_000).default(600),
  // Express's "trust proxy" (e.g. `loopback`, `10.0.0.0/8`, a hop count): which X-Forwarded-For to believe for the client address, on /graphql and /auth. Unset: the socket's peer.
  TRUST_PROXY: z
    .string()
    .optional()
    .superRefine((value, context) => {
      const problem = value === undefined ? null : trustProxyProblem(value);
      if (problem) context.addIssue({ code: 'custom', message: `TRUST_PROXY must be true, false, a hop count, or addresses, CIDR ranges and loopback/linklocal/uniquelocal, comma-separated (${problem})` });
    }),
  // graphql-ws: ping interval, and the time a pong may take before the connection is dropped.
  WS_KEEPALIVE_MS: z.coerce.number().int().min(100).max(600_000).default(12_000),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1000).default(20),
  // graphql-ws connections open at once: in all, and from one client address (as TRUST_PROXY gives it).
  WS_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  WS_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // Live events buffered for one subscription while its client is not reading; past this it is disconnected (and can resume with its cursor).
  WS_MAX_PENDING_EVENTS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  // How many log events a resuming feed may read past its cursor: the log holds every tenant's events.
  // Embedded default: how often the in-process read model's snapshot in DATA_DIR is refreshed (it is also written at shutdown); 0: never, rebuild from the log at every start.
  READ_MODEL_SNAPSHOT_SECONDS: z.coerce.number().int().min(0).max(86_400).default(300),
  FEED_REPLAY_MAX_EVENTS: z.coerce.number().int().min(1000).max(100_000_000).default(100_000),
  // Keys the history's hash chain (HMAC-SHA256); keep it outside DATA_DIR and the event store. Retired keys: comma-separated, still verify older links.
  AUDIT_HMAC_KEY: z.string().min(32, 'AUDIT_HMAC_KEY must be at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  AUDIT_HMAC_RETIRED_KEYS: z
    .string()
    .optional()
    .transform((value) => (value ?? '').split(',').map((key) => key.trim()).filter((key) => key !== ''))
    .refine((keys) => keys.every((key) => key.length >= 32), 'AUDIT_HMAC_RETIRED_KEYS: every key must be at least 32 characters'),
  // true: an unkeyed chain link anywhere is a break (for deployments whose histories were all written with a key).
  AUDIT_HMAC_REQUIRED: z.enum(['true', 'false'], 'AUDIT_HMAC_REQUIRED must be true or false').default('false').transform((value) => value === 'true'),
  /** When set, GET /auth (forward auth) requires it in X-Gateway-Token. */
  FORWARD_AUTH_TOKEN: z.string().min(16, 'FORWARD_AUTH_TOKEN must be at least 16 characters').optional(),
  /** `true`: /auth answers without FORWARD_AUTH_TOKEN in production too (the network alone guards it). */
  FORWARD_AUTH_OPEN: z.enum(['true', 'false'], 'FORWARD_AUTH_OPEN must be true or false').default('false').transform((value) => value === 'true'),
  /** `true` (or `npm start -- --print-token`): print a development token at start, not only on the first start. Without JWT_SECRET only. */
  /** GraphiQL at GET /graphql for browsers: on by default except with NODE_ENV=production. */
  GRAPHIQL: z.enum(['true', 'false'], 'GRAPHIQL must be true or false').optional().transform((value) => (value === undefined ? undefined : value === 'true')),
  KEYHUB_PRINT_DEV_TOKEN: z.enum(['true', 'false'], 'KEYHUB_PRINT_DEV_TOKEN must be true or false').default('false').transform((value) => value === 'true'),
  /** When set, GET /metrics requires it (Authorization: Bearer). In production /metrics is served on the main port only with it. */
  METRICS_TOKEN: z.string().min(16, 'METRICS_TOKEN must be at least 16 characters').optional(),
  /** When set, /metrics is served on this port (same HOST) alone, and not on the main port. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Webhook signing secrets are derived from it (HMAC-SHA256 of the webhook id); unset: derived from JWT_SECRET. */
  WEBHOOK_SIGNING_KEY: z.string().min(32, 'WEBHOOK_SIGNING_KEY must be at least 32 characters (e.g. openssl rand -hex 32)').optional(),
  /** One delivery attempt's deadline. */
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  /** How long a delivery is retried before it is FAILED (and its webhook disabled). */
  WEBHOOK_RETRY_FOR_SECONDS: z.coerce.number().int().min(60).max(604_800).default(86_400),
});

export type Config = Omit<z.infer<typeof schema>, 'HOST'> & { HOST: string };

export class ConfigError extends Error {}

/** Reads and validates configuration from environment variables; every problem is named in one message. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blanksRemoved = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = schema.safeParse(blanksRemoved);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`).join('\n');
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  const production = parsed.data.NODE_ENV === 'production';
  const missing: string[] = [];
  if (production && !parsed.data.JWT_SECRET) missing.push('  JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  if (production && !parsed.data.FORWARD_AUTH_TOKEN && !parsed.data.FORWARD_AUTH_OPEN) {
    missing.push(
      '  FORWARD_AUTH_TOKEN: required when NODE_ENV=production (at least 16 characters; gateways send it in X-Gateway-Token), so that /auth does not answer whoever reaches it; or set FORWARD_AUTH_OPEN=true to leave /auth to the network on purpose',
    );
  }
  if (parsed.data.AUDIT_HMAC_REQUIRED && parsed.data.AUDIT_HMAC_KEY === undefined) missing.push('  AUDIT_HMAC_KEY: required when AUDIT_HMAC_REQUIRED=true');
  if (parsed.data.AUDIT_HMAC_KEY !== undefined && parsed.data.AUDIT_HMAC_KEY === parsed.data.JWT_SECRET) {
    missing.push('  AUDIT_HMAC_KEY: must differ from JWT_SECRET (whoever holds one must not hold the other)');
  }
  if (missing.length > 0) throw new ConfigError(`Invalid configuration:\n${missing.join('\n')}`);
  return { ...parsed.data, HOST: parsed.data.HOST ?? (production ? '0.0.0.0' : '127.0.0.1') };
}

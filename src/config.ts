import { z } from 'zod';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  // Unset: 127.0.0.1 outside production (a development server is not reachable from the network), 0.0.0.0 in production.
  HOST: z.string().min(1).optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  JWT_SECRET: z.string().min(32, 'JWT_SECRET must be at least 32 characters (HS256 wants 256 bits)').optional(),
  DEFAULT_REGION: z.string().regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'DEFAULT_REGION must look like us-east-1').max(32).default('default'),
  KEY_LIMIT_DEFAULT: z.coerce.number().int().min(0).max(10_000).default(50),
  USAGE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  EVENTSTORE_URL: z.string().regex(/^(esdb|esdb\+discover|kurrentdb|kurrentdb\+discover):\/\//, 'EVENTSTORE_URL must be an esdb:// connection string').optional(),
  MONGODB_URL: z.string().regex(/^mongodb(\+srv)?:\/\//, 'MONGODB_URL must be a mongodb:// connection string').optional(),
  MONGODB_DB: z.string().min(1).default('keyhub'),
  // GraphQL operations one account may start per second (verifyApiKey and /auth are not counted: gateways call them for every account).
  ACCOUNT_REQUESTS_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // Leak reports (unauthenticated) allowed per client address per minute.
  LEAK_REPORTS_PER_MINUTE: z.coerce.number().int().min(1).max(10_000).default(10),
  // Express's "trust proxy" (e.g. `loopback`, `10.0.0.0/8`, a hop count): which X-Forwarded-For to believe for the client address. Unset: the socket's peer.
  TRUST_PROXY: z.string().optional(),
  // graphql-ws: ping interval, and the time a pong may take before the connection is dropped.
  WS_KEEPALIVE_MS: z.coerce.number().int().min(100).max(600_000).default(12_000),
  WS_MAX_SUBSCRIPTIONS: z.coerce.number().int().min(1).max(1000).default(20),
  // graphql-ws connections open at once: in all, and from one client address (as TRUST_PROXY gives it).
  WS_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  WS_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  // Live events buffered for one subscription while its client is not reading; past this it is disconnected (and can resume with its cursor).
  WS_MAX_PENDING_EVENTS: z.coerce.number().int().min(1).max(1_000_000).default(1000),
  /** When set, GET /auth (forward auth) requires it in X-Gateway-Token. */
  FORWARD_AUTH_TOKEN: z.string().min(16, 'FORWARD_AUTH_TOKEN must be at least 16 characters').optional(),
});

export type Config = Omit<z.infer<typeof schema>, 'HOST'> & { HOST: string; production: boolean };

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
  if (production && !parsed.data.JWT_SECRET) {
    throw new ConfigError('Invalid configuration:\n  JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  }
  return { ...parsed.data, HOST: parsed.data.HOST ?? (production ? '0.0.0.0' : '127.0.0.1'), production };
}

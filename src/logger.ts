import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs on stdout. Secrets never reach a log line: requests are not logged with
 * their bodies, and these paths are redacted wherever they appear in a logged object.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'keyhub' },
    redact: { paths: ['secret', '*.secret', 'key', '*.key', 'authorization', '*.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}

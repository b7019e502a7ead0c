import 'reflect-metadata';
import { ConfigError, loadConfig } from './config';
import { startKeyhub } from './compositionRoot';
import { createLogger } from './logger';
import { StartupError } from './startupError';

const DEVELOPMENT_TOKEN_LIFETIME = '12h';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger(config.LOG_LEVEL);
  const keyhub = await startKeyhub(config, logger);

  // The development token is a credential in the output: printed on the first start (or on request), valid 12 h.
  const printToken = keyhub.developmentSecretGenerated || config.KEYHUB_PRINT_DEV_TOKEN || process.argv.includes('--print-token');
  if (!config.JWT_SECRET && !printToken) {
    logger.info(`No JWT_SECRET set: using the development secret in ${config.DATA_DIR}/jwt-secret. For a development token (valid 12 h): npm start -- --print-token (or KEYHUB_PRINT_DEV_TOKEN=true)`);
  }
  if (!config.JWT_SECRET && printToken) {
    const token = await keyhub.jwt.sign({ sub: 'local-developer', account: 'local', roles: ['admin', 'gateway'] }, DEVELOPMENT_TOKEN_LIFETIME);
    logger.info(
      { account: 'local', roles: ['admin', 'gateway'] },
      `No JWT_SECRET set: using a development secret kept in ${config.DATA_DIR}/jwt-secret. Try: curl -H 'content-type: application/json' -H 'authorization: Bearer ${token}' -d '{"query":"{ accountQuota { limit used } }"}' ${keyhub.url}`,
    );
    // The fragment never reaches the server: the console reads the token from it and forgets the fragment.
    logger.info(`Console: open ${keyhub.url.replace(/\/graphql$/, '/')}#token=${token}`);
  }

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining connections, writing pending key uses');
    keyhub.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof StartupError) {
    console.error(error.message);
    process.exit(2);
  }
  console.error('keyhub failed to start:', error);
  process.exit(1);
});

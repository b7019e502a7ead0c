import { execFileSync } from 'node:child_process';
import type { Browser, LaunchOptions } from 'playwright-core';
import { chromium } from 'playwright-core';

const HOW_TO_GET_ONE = [
  'The console tests need a Chromium and found none.',
  '- On Linux x64, `npm ci` installs one inside @sparticuz/chromium (a devDependency): check that it installed and that /tmp is writable (it unpacks there).',
  '- Or install a system Chromium (Debian/Ubuntu: `apt-get install -y chromium`) and set CHROMIUM_PATH=/usr/bin/chromium.',
  '- On other platforms: `npx playwright-core install chromium`, or CHROMIUM_PATH pointing at a Chrome/Chromium.',
].join('\n');

function launchOptions(): LaunchOptions {
  const noSandbox = process.getuid?.() === 0 ? ['--no-sandbox'] : [];
  const systemPath = process.env['CHROMIUM_PATH'];
  if (systemPath) return { executablePath: systemPath, args: noSandbox, headless: true };
  if (process.platform === 'linux' && process.arch === 'x64') {
    // @sparticuz/chromium is ESM-only, which jest's CommonJS runtime cannot import: ask a plain node for its path and flags.
    const script = "import('@sparticuz/chromium').then(async ({ default: c }) => console.log(JSON.stringify({ path: await c.executablePath(), args: c.args })))";
    const { path, args } = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 })) as { path: string; args: string[] };
    return { executablePath: path, args, headless: true };
  }
  return { headless: true, args: noSandbox }; // Playwright's own browser, if installed
}

/** Headless Chromium for the console tests; fails (never skips) with instructions when there is none. */
export async function launchChromium(): Promise<Browser> {
  try {
    return await chromium.launch(launchOptions());
  } catch (error) {
    throw new Error(`${HOW_TO_GET_ONE}\n\nLaunching failed with: ${error instanceof Error ? error.message : String(error)}`);
  }
}

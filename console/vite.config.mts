import { defineConfig } from 'vite';

// Built into dist/console, which keyhub serves at / (src/http/consoleAssets.ts).
export default defineConfig({
  base: '/',
  publicDir: 'public',
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // One small app: a single script keeps the CSP and the cache rules simple.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    // .vite/manifest.json names the hashed files, for a platform that embeds the console.
    manifest: true,
  },
  oxc: { jsx: { runtime: 'automatic' } },
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } } },
});

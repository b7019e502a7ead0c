import { defineConfig } from 'vite';

// GraphiQL, built into dist/graphiql; keyhub serves its page at GET /graphql (Accept: text/html) and
// its files under /graphiql/, only when GRAPHIQL is on (src/http/graphiqlPage.ts).
export default defineConfig({
  base: '/graphiql/',
  build: {
    outDir: '../../dist/graphiql',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 4096,
  },
  oxc: { jsx: { runtime: 'automatic' } },
});

# syntax=docker/dockerfile:1
# keyhub's image: built with the full toolchain, run on a slim Node 20 as a non-root user.

FROM node:20-bookworm AS build
WORKDIR /app
# Dependencies first, so that source changes reuse this layer. better-sqlite3 (the embedded log,
# also used when only MONGODB_URL is set) compiles its native module here: node:20-bookworm has
# python3, make and g++.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json schema.graphql ./
COPY console ./console
COPY src ./src
COPY projections ./projections
COPY scripts ./scripts
COPY bench ./bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4000
# Ready = the engines answer and the read model has caught up with the log (503 until then).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]

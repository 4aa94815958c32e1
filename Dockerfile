# syntax=docker/dockerfile:1
# warroom: one image for the API and the worker; pick the role at run time with
# `--role=api` / `--role=worker` (or WARROOM_ROLE). Without either it runs both in one process.
# It always connects to an existing Temporal cluster through TEMPORAL_ADDRESS.
#   docker build -t warroom .
#   docker run --rm -p 3000:3000 -e TEMPORAL_ADDRESS=temporal.example:7233 warroom node dist/main.js --role=api
# Before the first incident, check the settings (Temporal, tokens, scopes, permissions; reads only):
#   docker run --rm --env-file .env warroom node dist/main.js doctor
#
# Debian, not Alpine: the Temporal SDK's native bridge is built against glibc and does not load on musl.
ARG NODE_VERSION=24.19.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: our postinstall only fetches the Temporal CLI for the embedded dev server
# (and needs src/, not copied yet); a container talks to a cluster through TEMPORAL_ADDRESS instead.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json -> dist/, then the workflow code bundled once into dist/workflow-bundle.js,
# which the worker loads at start instead of running webpack.
RUN npm run build

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# The worker's native Temporal connection verifies TLS against the system CA store
# (rustls native roots), which the slim image leaves out; Temporal Cloud needs it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
# glibc gives each thread that allocates its own malloc arena (the worker's Rust core runs many)
# and keeps what they free: 1,000 open incidents took 0.7 GiB instead of 0.34 (bench:footprint).
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
# package.json stays: its "type": "module" is what makes Node load dist/*.js as ES modules.
COPY package.json package-lock.json ./
# Production dependencies only (webpack and swc come with @temporalio/worker; the built worker
# does not run them: it loads dist/workflow-bundle.js).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# Liveness of the HTTP API (GET /healthz). A worker-only container serves no HTTP: turn this off
# there (compose: `healthcheck: disable: true`). Slim images have no curl, so Node's fetch asks.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm) so SIGTERM reaches main.ts, which drains the worker and the
# server within 15 s: give `docker stop` at least that (--time 20 / stop_grace_period: 20s).
CMD ["node", "dist/main.js"]

# One image for both roles: `plexus broker start …` or `plexus agent …`.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build
# step: the first stage only resolves production dependencies (the second fills Node's
# compile cache from the sources it ships).
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the only install scripts belong to dev tools (the pinned node
# binary, esbuild); the image already has Node 24.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY certs ./certs
COPY broker ./broker
COPY agent ./agent
COPY gateway ./gateway
COPY crds ./crds
# Read-only root filesystem: nothing here writes outside /data (the broker's data dir
# lives below it; `broker init` stages beside its target, so use /data/broker, not /data)
# and /tmp. Run with `docker run --read-only --tmpfs /tmp -v plexus-data:/data plexus …`;
# in Kubernetes, readOnlyRootFilesystem: true (deploy/).
RUN mkdir -p /data /app/.compile-cache && chown node:node /data /app/.compile-cache
VOLUME ["/data"]
# The node image's unprivileged user; data lives on mounted volumes, never in the image.
USER node:node
# Node's compile cache, filled here from the sources above (bin/warm-compile-cache.ts): each
# process then starts from the stripped and compiled code instead of loading the TypeScript
# stripper, about 20 MiB less resident per agent or broker (bench:footprint fills one the
# same way). Filled as the node user: Node keeps one cache per user id, and deploy/ runs
# as uid 1000, this user. Read-only at run time: Node checks every entry against its
# source and skips writing new ones.
ENV NODE_COMPILE_CACHE=/app/.compile-cache
RUN node bin/warm-compile-cache.ts
# One probe for both roles, without curl in the image: `plexus health` exits 0 when the
# broker (https://127.0.0.1:7443/healthz) or the agent (http://127.0.0.1:9090/healthz,
# --metrics-listen) answers; PLEXUS_HEALTH_URL names another endpoint.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["node", "/app/bin/plexus.ts", "health", "--quiet", "--timeout-ms", "5000"]
ENTRYPOINT ["node", "/app/bin/plexus.ts"]
CMD ["--help"]

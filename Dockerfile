# One image for both roles: `plexus broker start …` or `plexus agent …`.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build
# step: the first stage only resolves production dependencies.
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
COPY crds ./crds
# The node image's unprivileged user; data lives on mounted volumes, never in the image.
USER node:node
ENTRYPOINT ["node", "/app/bin/plexus.ts"]
CMD ["--help"]

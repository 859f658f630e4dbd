# backupgraph: the production install. No image is built in this repository's CI; instead
# test/production-install.test.ts runs these same steps (the COPY lines, the npm ci lines and the
# build) on clean copies and queries the result.

# Stage 1: bundle src/ and its dependencies into dist/ (esbuild is a dev dependency; it stays in this stage).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN npm run build

# Stage 2: the bundle only: no node_modules, no sources, no transpiler at run time.
FROM node:24-slim
# An init process: signals reach the gateway (graceful drain on SIGTERM), zombies are reaped.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# package.json for the version the gateway reports.
COPY package.json ./
COPY bin ./bin
COPY --from=build /app/dist ./dist

# Inside a container the gateway listens on every interface; the data volume holds its history.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 BACKUPGRAPH_CONFIG=/etc/backupgraph/config.yaml
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 4000
ENTRYPOINT ["tini", "--"]
CMD ["node", "bin/backupgraph.js"]

# backupgraph: the production install. No image is built in this repository's CI; instead
# test/production-install.test.ts runs these same steps (the COPY lines and the npm ci line) on a
# clean copy and queries the result.
FROM node:24-slim

# An init process: signals reach the gateway (graceful drain on SIGTERM), zombies are reaped.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src

# Inside a container the gateway listens on every interface; the data volume holds its history.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=4000 BACKUPGRAPH_CONFIG=/etc/backupgraph/config.yaml
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 4000
ENTRYPOINT ["tini", "--"]
CMD ["node", "bin/backupgraph.js"]

# Rasid's runtime image: Node.js 20 on Debian bookworm-slim, production dependencies only, run as the
# unprivileged `node` user. One image for every role: ROLES=api, workers, broker or all (docs/deploy.md).
#   docker build -t rasid .
#   docker run -e DATABASE_URL=... -e VENDING_MASTER_KEY=... -e ROLES=api -p 8080:8080 rasid

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    MQTT_HOST=0.0.0.0 \
    DATA_DIR=/var/lib/rasid
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json package-lock.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root src ./src
COPY --chown=root:root migrations ./migrations
COPY --chown=root:root protocols ./protocols
COPY --chown=root:root gateway ./gateway
COPY --chown=root:root firmware-sim ./firmware-sim
COPY --chown=root:root web ./web
RUN mkdir -p /var/lib/rasid && chown node:node /var/lib/rasid
USER node
VOLUME ["/var/lib/rasid"]
EXPOSE 8080 1883
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "bin/rasid"]
CMD ["start"]

# The cart service image. Build it with your engine: `docker build -t cart-service .`
# (or `docker compose up --build`). No engine runs on our machines; test/integration/production-build.test.ts
# builds the runtime stage's layout below in a folder and runs it.

# Build stage: every dependency, then the compiled service in dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# patches/ before the install: its postinstall applies them (patch-package), and finds none without them.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

# Runtime stage: production dependencies only, the compiled service and the files it reads at run time.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    NODE_OPTIONS=--enable-source-maps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY migrations ./migrations
COPY openapi.json ./openapi.json
# The demo storefront (SEED_DEMO_PRODUCTS=1) is bundled from these sources on its first request.
COPY src/storefront ./src/storefront
COPY src/domain ./src/domain
COPY gen ./gen
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The service itself is the container's process: SIGTERM (docker stop) drains calls for SHUTDOWN_GRACE_MS, then it exits.
CMD ["node", "dist/main.js"]

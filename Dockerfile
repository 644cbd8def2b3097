# The GitHub App server. It holds no model key and runs no repository code: it parses commands,
# checks permissions and dispatches the repository's own Actions runner.

# ---- build: compile TypeScript with the dev dependencies ----
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime: production dependencies and the compiled code only ----
FROM node:24-bookworm-slim AS runtime
# Probot listens on localhost by default; in a container it must listen on every interface.
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY app.yml ./
# The built-in workflows ship with the package; the app reads none, but keeps the tree complete.
COPY workflows ./workflows
# The image's own unprivileged user.
USER node
EXPOSE 3000
# Configuration comes from the environment (see .env.example and docs/deploy.md): APP_ID,
# PRIVATE_KEY (or PRIVATE_KEY_PATH to a mounted file) and WEBHOOK_SECRET. Without them the
# production image refuses to start and says which is missing.
# Node as PID 1 ignores SIGTERM: run the container with `docker run --init` (or an orchestrator's
# equivalent) so that stopping it is immediate.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/app/start.js"]

# One image for every role of this repository: the compose file picks the role with `command`, the node invocation
# of a package.json script (`runners/runner/main.ts`, `gateway/main.ts`, …); the default is the all-in-one of
# `npm start`. Node runs as the container's main process (not under npm), so SIGTERM reaches it and the drain runs.
# The TypeScript sources run through tsx, so there is no build step. The processes run as the unprivileged `node`.

# The sources without what the build context may carry from a working copy (installed modules, embedded Postgres
# data, git history): only the `npm ci` below provides node_modules.
FROM node:20-slim AS source
WORKDIR /src
COPY . .
RUN rm -rf node_modules .data .git .vitest-results.json

FROM node:20-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force
COPY --from=source /src ./
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
ENV GATEWAY_HOST=0.0.0.0
EXPOSE 8080 34431
CMD ["node", "--import", "tsx", "runners/allinone/main.ts"]

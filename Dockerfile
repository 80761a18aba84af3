# One image for every role of this repository: the compose file picks the role with `command` (`npm run runner`,
# `npm run gateway`, `npm run migrate`, `npm run cli -- …`); the default is the all-in-one `npm start`. Scripts run
# the TypeScript sources through tsx, so there is no build step.

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
ENV GATEWAY_HOST=0.0.0.0
EXPOSE 8080 34431
CMD ["npm", "start"]

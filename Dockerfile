# syntax=docker/dockerfile:1
# kube-image-bouncer: built with the same steps CI runs (npm ci, npm run build), shipped with
# production dependencies only on a distroless Node 24 runtime, as a non-root user.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY scripts/write-build-info.js ./scripts/
RUN npm run build \
 && npm prune --omit=dev

FROM gcr.io/distroless/nodejs24-debian12:nonroot
WORKDIR /app
ENV NODE_ENV=production \
    BOUNCER_PORT=1323 \
    BOUNCER_HEALTH_PORT=8080
COPY --from=build --chown=nonroot:nonroot /app/package.json ./package.json
COPY --from=build --chown=nonroot:nonroot /app/node_modules ./node_modules
COPY --from=build --chown=nonroot:nonroot /app/dist ./dist
USER nonroot
EXPOSE 1323 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/nodejs/bin/node", "/app/dist/health/healthcheck.js"]
# Arguments after the image name go to the CLI: `docker run IMAGE --cert /certs/tls.crt --key /certs/tls.key`.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
CMD ["serve"]

# syntax=docker/dockerfile:1
# kube-image-bouncer: built with the same steps CI runs (npm ci, npm run build), shipped with
# production dependencies only on a distroless Node 24 runtime, as a non-root user.

# Base images are pinned by digest, with the tag kept beside it for readers: a tag can be moved to
# other contents, a digest cannot (an image-pinning product should pin its own). Each digest is the
# tag's multi-platform index as published and as other public projects pinned it (node 24.18.0 for
# the build image); there is no registry access where this was written, so refresh and check them
# with crane, which test/tools/go-tool.sh builds:
#   CRANE=$(bash test/tools/go-tool.sh crane | tail -1)
#   $CRANE digest node:24-bookworm-slim
#   $CRANE digest gcr.io/distroless/nodejs24-debian12:nonroot
# and replace the part after @ on each FROM line.
FROM node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
COPY scripts/finish-build.js ./scripts/
RUN npm run build \
 && npm prune --omit=dev \
 && mkdir -p /var/lib/kube-image-bouncer

FROM gcr.io/distroless/nodejs24-debian12:nonroot@sha256:14d42e2511532589a7c7e01a753667a74fcc96266e137e8125006b87b0c32d0a
WORKDIR /app
ENV NODE_ENV=production \
    BOUNCER_PORT=1323 \
    BOUNCER_HEALTH_PORT=8080
COPY --from=build --chown=nonroot:nonroot /app/package.json ./package.json
COPY --from=build --chown=nonroot:nonroot /app/node_modules ./node_modules
COPY --from=build --chown=nonroot:nonroot /app/dist ./dist
# Where the kits keep the verification ledger: a volume mounted here starts owned by the image's user.
COPY --from=build --chown=nonroot:nonroot /var/lib/kube-image-bouncer /var/lib/kube-image-bouncer
USER nonroot
EXPOSE 1323 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/nodejs/bin/node", "/app/dist/health/healthcheck.js"]
# Arguments after the image name go to the CLI: `docker run IMAGE --cert /certs/tls.crt --key /certs/tls.key`.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/main.js"]
CMD ["serve"]

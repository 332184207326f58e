#!/usr/bin/env node
/**
 * The container HEALTHCHECK: exits 0 when the running bouncer's liveness probe answers 200.
 * Distroless images have no shell or curl, so this is a small node script. It reads the same
 * BOUNCER_* environment as the server, without starting Nest.
 */
import 'reflect-metadata';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { serveOptionsFromEnvironment, resolveBouncerConfig } from '../config';

const TIMEOUT_MS = 3_000;

function probe(): Promise<number> {
  const { server } = resolveBouncerConfig(serveOptionsFromEnvironment(process.env));
  const options = { host: '127.0.0.1', path: '/healthz', timeout: TIMEOUT_MS };
  // Without a health port the probe goes to the TLS port, whose certificate may be self-signed; it
  // only asks whether the process answers, so the certificate is not verified.
  const request =
    server.healthPort !== undefined
      ? httpGet({ ...options, port: server.healthPort })
      : httpsGet({ ...options, port: server.port, rejectUnauthorized: false });
  return new Promise((resolve, reject) => {
    request.once('response', (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once('timeout', () => request.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    request.once('error', reject);
  });
}

probe().then(
  (status) => {
    process.stdout.write(`healthz answered ${status}\n`);
    process.exit(status === 200 ? 0 : 1);
  },
  (error: unknown) => {
    process.stderr.write(`healthz probe failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

import { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import { Server as HttpServer, createServer as createHttpServer } from 'node:http';
import { Server as HttpsServer, createServer as createHttpsServer } from 'node:https';
import { AddressInfo, Server as NetServer } from 'node:net';
import { AppModule } from '../app.module';
import { AllConfigType } from '../config';
import { prepareReviewExpress } from '../http';
import { PinoNestLogger, createBouncerLogger } from '../logging';
import { MetricsService } from '../metrics';
import { httpsServerOptions, secureContextOptions, TlsMaterialService } from '../tls';
import { ConnectionTracker } from './connection-tracker';
import { healthOnly } from './health-listener';
import { listenOn } from './listen-error';

// The apiserver's webhook client keeps idle connections for 90 s (Go's http.Transport
// IdleConnTimeout, set by k8s.io/apimachinery/pkg/util/net). Holding them a little longer means
// the client, not us, closes an idle connection, so it never sends on a socket we just closed.
const KEEP_ALIVE_TIMEOUT_MS = 95_000;
// Bounds a client that trickles its headers or body (slowloris); reviews arrive in milliseconds.
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
// Node's default is 120 s; the apiserver completes a handshake in milliseconds.
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface RunningWebhookServer {
  readonly app: NestExpressApplication;
  readonly tlsServer: HttpsServer;
  readonly healthServer?: HttpServer;
  readonly address: AddressInfo;
  readonly healthAddress?: AddressInfo;
  /** Stops accepting connections, lets in-flight requests finish (within the grace period), then closes Nest. */
  close(): Promise<void>;
}

export interface WebhookServerOptions {
  readonly logger?: LoggerService | false;
}

function tune<T extends HttpServer | HttpsServer>(server: T): T {
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  return server;
}

/**
 * Stops accepting connections; resolves once every connection has closed. Node's http Server.close()
 * would also destroy every idle keep-alive connection at once (since Node 19), racing the client's
 * next request on it: a reset the apiserver does not retry for a POST, so the review fails. The
 * ConnectionTracker retires connections instead, after a last call.
 */
function stopListening(server: HttpServer | HttpsServer): Promise<void> {
  return new Promise((resolve) => NetServer.prototype.close.call(server, () => resolve()));
}

export async function startWebhookServer(
  config: AllConfigType,
  options: WebhookServerOptions = {},
): Promise<RunningWebhookServer> {
  const adapter = new ExpressAdapter();
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), adapter, {
    bodyParser: false,
    abortOnError: false,
    logger: options.logger ?? new PinoNestLogger(createBouncerLogger(config.log)),
  });
  const express = prepareReviewExpress(app, app.get(MetricsService).observeRequests);

  let draining = false;
  // Once draining, every response tells its client to reconnect elsewhere instead of reusing us.
  express.use((_request: Request, response: Response, next: NextFunction) => {
    if (draining) response.setHeader('Connection', 'close');
    next();
  });

  await app.init();

  const tls = app.get(TlsMaterialService);
  const tlsServer = tune(
    createHttpsServer(
      { ...httpsServerOptions(tls.current), handshakeTimeout: HANDSHAKE_TIMEOUT_MS, noDelay: true },
      express,
    ),
  );
  // New handshakes get rotated material; established connections keep the context they began with.
  tls.onRotation((result, material) => {
    if (result === 'applied') tlsServer.setSecureContext(secureContextOptions(material));
  });
  const healthServer =
    config.server.healthPort === undefined
      ? undefined
      : tune(createHttpServer({ noDelay: true }, healthOnly(express)));

  let address: AddressInfo;
  let healthAddress: AddressInfo | undefined;
  try {
    address = await listenOn(tlsServer, config.server.host, '--port', config.server.port);
    healthAddress = healthServer
      ? await listenOn(healthServer, config.server.host, '--health-port', config.server.healthPort!)
      : undefined;
  } catch (error) {
    // Nothing may keep the process alive after a listener failed: the watchers stop with the app.
    if (tlsServer.listening) await stopListening(tlsServer);
    await app.close();
    throw error;
  }

  const servers = [tlsServer, ...(healthServer ? [healthServer] : [])];
  const connections = new ConnectionTracker();
  connections.track(tlsServer, true);
  if (healthServer) connections.track(healthServer, false);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      draining = true;
      const closed = Promise.all(servers.map(stopListening));
      connections.drain();
      const deadline = setTimeout(() => connections.closeAll(), config.server.shutdownGraceMs);
      await closed;
      clearTimeout(deadline);
      await app.close();
    })());

  return { app, tlsServer, healthServer, address, healthAddress, close };
}

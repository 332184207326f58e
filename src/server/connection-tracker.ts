import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/**
 * While draining, how long a connection without a request in flight may still send one (it may be
 * on the wire already) before it is closed.
 */
const LAST_CALL_MS = 250;

/**
 * Tracks connections and their requests in flight, so that draining closes every connection that
 * has none. Node's closeIdleConnections() skips a connection that was opened but never sent a
 * request, and the apiserver's Go client leaves such connections behind; without this, SIGTERM
 * would wait out the whole grace period for them. With TLS 1.3 a client may finish its handshake
 * before the server does, so a connection can also become usable after draining began.
 */
export class ConnectionTracker {
  private readonly requestsInFlight = new Map<Socket, number>();
  private readonly rawSockets = new Set<Socket>();
  private draining = false;

  track(server: HttpServer | HttpsServer, secure: boolean): void {
    server.on('connection', (socket: Socket) => {
      this.rawSockets.add(socket);
      socket.once('close', () => this.rawSockets.delete(socket));
    });
    server.on(secure ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.requestsInFlight.set(socket, 0);
      socket.once('close', () => this.requestsInFlight.delete(socket));
      if (this.draining) this.closeIfStillUnused(socket);
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      const socket = request.socket;
      this.requestsInFlight.set(socket, (this.requestsInFlight.get(socket) ?? 0) + 1);
      response.once('close', () => {
        if (this.requestsInFlight.has(socket))
          this.requestsInFlight.set(socket, this.requestsInFlight.get(socket)! - 1);
      });
    });
  }

  /** From now on, connections without a request in flight are closed after a last call. */
  drain(): void {
    this.draining = true;
    for (const socket of this.requestsInFlight.keys()) this.closeIfStillUnused(socket);
  }

  /** At the end of the grace period: every connection, including handshakes that never finished. */
  closeAll(): void {
    for (const socket of this.rawSockets) socket.destroy();
  }

  private closeIfStillUnused(socket: Socket): void {
    // Timers run before the loop reads sockets: after a stall longer than the last call, a request
    // that arrived meanwhile is still unread in the kernel when the timer fires, and destroying the
    // socket then resets a request the client already sent. setImmediate runs after that read, when
    // such a request is in flight.
    setTimeout(
      () =>
        setImmediate(() => {
          if (this.requestsInFlight.get(socket) === 0) socket.destroy();
        }).unref(),
      LAST_CALL_MS,
    ).unref();
  }
}

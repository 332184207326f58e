import { RequestListener, Server, createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { AddressInfo } from 'node:net';

/**
 * The Fetch spec's bad ports, which undici (and so Node's fetch and our registry client) refuses to
 * connect to: a fake registry that the kernel happens to give one of them could never be reached.
 * https://fetch.spec.whatwg.org/#port-blocking
 */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104,
  109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515,
  526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049,
  3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** A certificate and key for an https listener, PEM. */
export interface LoopbackTls {
  readonly cert: string;
  readonly key: string;
}

/**
 * An HTTP server on 127.0.0.1 (https with `tls`), on a port the registry client may fetch from.
 * `port` asks for that port again, as a test does to bring a listener back where one was.
 */
export async function listenOnLoopback(
  listener: RequestListener,
  tls?: LoopbackTls,
  port = 0,
): Promise<{ server: Server; port: number }> {
  for (;;) {
    const server = tls ? createTlsServer(tls, listener) : createServer(listener);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const { port: bound } = server.address() as AddressInfo;
    if (!FETCH_BAD_PORTS.has(bound)) return { server, port: bound };
    await closeServer(server);
  }
}

/** Closes the server and every connection still open on it, kept-alive ones included. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

import { IncomingHttpHeaders, RequestListener, Server, createServer } from 'node:http';
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

/**
 * A bystander on 127.0.0.1: a service inside the bouncer's network that no registry should be able
 * to make it call. It answers every request, and remembers each, so a test can say none came.
 */
export class LoopbackListener {
  readonly requests: {
    readonly method: string;
    readonly url: string;
    readonly headers: IncomingHttpHeaders;
  }[] = [];
  private server?: Server;
  private boundPort = 0;

  constructor(private readonly answer = 'internal service') {}

  /** Listens, on `port` when given: a test brings a listener back where one was. */
  async start(port = 0): Promise<void> {
    ({ server: this.server, port: this.boundPort } = await listenOnLoopback(
      (request, response) => {
        this.requests.push({
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
        });
        request.resume();
        response.writeHead(200, { 'Content-Type': 'text/plain' }).end(this.answer);
      },
      undefined,
      port,
    ));
  }

  async stop(): Promise<void> {
    if (this.server) await closeServer(this.server);
    this.server = undefined;
  }

  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return `127.0.0.1:${this.boundPort}`;
  }
}

import { X509Certificate } from 'node:crypto';
import { Agent, AgentOptions, request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { TLSSocket, connect } from 'node:tls';
import { TestPki } from '../../support/test-pki';

/** What the kube-apiserver presents: the test CA to check our certificate, and its client certificate. */
export function apiserverTls(pki: TestPki): Pick<AgentOptions, 'ca' | 'cert' | 'key'> {
  return { ca: pki.ca.certificatePem, cert: pki.client.certificatePem, key: pki.client.privateKeyPem };
}

/**
 * The certificate a brand-new connection is shown, verified against the CA and 127.0.0.1. Rejects,
 * rather than hanging, when the connection closes or stalls before its handshake completes.
 */
export function servedFingerprint(port: number, pki: TestPki, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ...apiserverTls(pki) }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw).fingerprint256);
      socket.end();
    });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no handshake within ${timeoutMs} ms`)));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before the handshake completed')));
  });
}

/** A pool of keep-alive connections, as the apiserver's webhook client keeps them. */
export function keepAliveAgent(pki: TestPki, maxSockets: number): Agent {
  return new Agent({ ...apiserverTls(pki), keepAlive: true, maxSockets, maxFreeSockets: maxSockets });
}

/** A fresh connection, and a full handshake, for every request. */
export function oneShotAgent(pki: TestPki): Agent {
  return new Agent({ ...apiserverTls(pki), keepAlive: false });
}

/**
 * How one request ended. The distinction that matters is whether the server may have seen the
 * request: a connection refused, or closed before its TLS handshake completed, is a clean refusal
 * the client can retry anywhere; an error on an established connection (a reset mid-request, a
 * hang-up without a response) is a failed request.
 */
export type Exchange =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly headers: Record<string, string | string[] | undefined>;
      readonly text: string;
      readonly ms: number;
    }
  | { readonly kind: 'refused'; readonly code: string; readonly ms: number }
  | { readonly kind: 'failed'; readonly code: string; readonly reusedSocket: boolean; readonly ms: number };

export interface PostOptions {
  readonly agent: Agent;
  readonly port: number;
  readonly path: string;
  readonly body: string | Buffer;
  readonly contentType?: string;
  readonly timeoutMs?: number;
}

/** Connections whose TLS handshake has completed, and those already being watched for it. */
const established = new WeakSet<TLSSocket>();
const watched = new WeakSet<TLSSocket>();

function watchHandshake(socket: TLSSocket): void {
  if (watched.has(socket)) return;
  watched.add(socket);
  socket.once('secureConnect', () => established.add(socket));
}

export function postReview(options: PostOptions): Promise<Exchange> {
  const started = performance.now();
  return new Promise((resolve) => {
    let socket: TLSSocket | undefined;
    let settled = false;
    const settle = (exchange: Exchange): void => {
      if (!settled) {
        settled = true;
        resolve(exchange);
      }
    };
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port: options.port,
        path: options.path,
        method: 'POST',
        agent: options.agent,
        headers: {
          'content-type': options.contentType ?? 'application/json',
          'content-length': Buffer.byteLength(options.body),
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          settle({
            kind: 'response',
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            ms: performance.now() - started,
          }),
        );
        response.on('error', (error: NodeJS.ErrnoException) =>
          settle({
            kind: 'failed',
            code: error.code ?? error.message,
            reusedSocket: request.reusedSocket,
            ms: performance.now() - started,
          }),
        );
      },
    );
    request.on('socket', (assigned: TLSSocket) => {
      socket = assigned;
      watchHandshake(assigned);
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.message;
      const ms = performance.now() - started;
      // Without a completed handshake no byte of the request can have reached the server.
      if (!(socket && established.has(socket)) && !request.reusedSocket)
        settle({ kind: 'refused', code, ms });
      else settle({ kind: 'failed', code, reusedSocket: request.reusedSocket, ms });
    });
    request.setTimeout(options.timeoutMs ?? 30_000, () => request.destroy(new Error('ETIMEDOUT')));
    request.end(options.body);
  });
}

/**
 * A review whose body arrives in `chunks` pieces, `intervalMs` apart, on its own connection: a
 * request that is in flight for as long as it takes to send.
 */
export function trickledReview(
  pki: TestPki,
  port: number,
  path: string,
  body: Buffer,
  chunks: number,
  intervalMs: number,
): Promise<Exchange> {
  const agent = oneShotAgent(pki);
  const started = performance.now();
  return new Promise((resolve) => {
    const request = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () =>
          resolve({
            kind: 'response',
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            ms: performance.now() - started,
          }),
        );
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        kind: 'failed',
        code: error.code ?? error.message,
        reusedSocket: false,
        ms: performance.now() - started,
      }),
    );
    const size = Math.ceil(body.length / chunks);
    let sent = 0;
    const sendNext = (): void => {
      const piece = body.subarray(sent, sent + size);
      sent += piece.length;
      if (sent >= body.length) request.end(piece);
      else {
        request.write(piece);
        setTimeout(sendNext, intervalMs);
      }
    };
    sendNext();
  });
}

import { TLSSocket, connect } from 'node:tls';
import { AllConfigType } from '../src/config/bouncer-config';
import { startWebhookServer } from '../src/server/webhook-server';
import { imageReview } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';

describe('draining on shutdown', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });

  const configWithGrace = (shutdownGraceMs: number): AllConfigType => ({
    server: { host: '127.0.0.1', port: 0, shutdownGraceMs, workers: 1 },
    tls: {
      certificatePath: pki.paths.serverCert,
      keyPath: pki.paths.serverKey,
      expiryWarningMs: 7 * 86_400_000,
    },
    policy: {},
    log: { level: 'silent', format: 'json' },
  });

  it('closes a connection that never sent a request instead of waiting out the grace period', async () => {
    // A grace period far beyond the test timeout: if close() waited for this connection, the test fails.
    const server = await startWebhookServer(configWithGrace(600_000), { logger: false });
    const unused = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: server.address.port, ca: pki.ca.certificatePem },
        () => resolve(socket),
      );
      socket.once('error', reject);
    });
    const clientSawClose = new Promise<void>((resolve) => unused.once('close', () => resolve()));
    unused.on('error', () => undefined);

    await server.close();
    await clientSawClose;
  });

  // Found by test/robust (SIGTERM under load): Node's Server.close() destroyed idle keep-alive
  // connections at once, so a review the apiserver sent on one just then was reset.
  it('answers a review sent on an idle keep-alive connection just after close() began, then closes it', async () => {
    const server = await startWebhookServer(configWithGrace(10_000), { logger: false });
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port: server.address.port, ca: pki.ca.certificatePem }, () =>
        resolve(s),
      );
      s.once('error', reject);
    });
    const body = JSON.stringify(imageReview(['nginx:1.25']));
    const request = `POST /image_policy HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    const closed = new Promise<string | undefined>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
      socket.once('close', () => resolve(undefined));
    });

    socket.write(request);
    while (!received.includes('"allowed":true')) await new Promise((resolve) => setTimeout(resolve, 5));
    received = '';
    const closing = server.close();
    socket.write(request);

    expect(await closed).toBeUndefined();
    expect(received).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(received).toMatch(/\r\nConnection: close\r\n/i);
    expect(received).toContain('"allowed":true');
    await closing;
  });
});

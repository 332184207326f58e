import { connect } from 'node:tls';
import { AllConfigType } from '../src/config/bouncer-config';
import { startWebhookServer } from '../src/server/webhook-server';
import { TestPki, createTestPki } from './support/test-pki';

describe('draining on shutdown', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });

  it('closes a connection that never sent a request instead of waiting out the grace period', async () => {
    // A grace period far beyond the test timeout: if close() waited for this connection, the test fails.
    const config: AllConfigType = {
      server: { host: '127.0.0.1', port: 0, shutdownGraceMs: 600_000, workers: 1 },
      tls: { certificatePath: pki.paths.serverCert, keyPath: pki.paths.serverKey },
      policy: {},
      log: { level: 'silent', format: 'json' },
    };
    const server = await startWebhookServer(config, { logger: false });
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
});

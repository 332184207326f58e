import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { imageReview } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

describe('probes and the self-signed default', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki, { selfSigned: true, healthPort: true });
  });
  afterAll(() => server.close());

  it.each(['/healthz', '/livez'])('%s reports the process alive', async (path) => {
    const response = await request(server.healthServer!).get(path).expect(200);
    expect(response.body.status).toBe('ok');
  });

  it('/readyz reports TLS material and rules loaded', async () => {
    const response = await request(server.healthServer!).get('/readyz').expect(200);
    expect(response.body).toMatchObject({
      status: 'ok',
      info: {
        tls: { status: 'up', selfSigned: true, mutualTls: false },
        policy: { status: 'up', rules: ['no-latest'] },
      },
    });
  });

  it('serves HTTPS with a certificate it made itself, whose fingerprint readiness reports', async () => {
    const presented = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = connect(
        { host: '127.0.0.1', port: server.address.port, rejectUnauthorized: false },
        () => {
          resolve(new X509Certificate(socket.getPeerCertificate().raw));
          socket.end();
        },
      );
      socket.once('error', reject);
    });
    const ready = await request(server.healthServer!).get('/readyz').expect(200);

    expect(presented.fingerprint256).toBe(ready.body.info.tls.fingerprint256);
    expect(presented.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(presented.checkHost('localhost')).toBe('localhost');
  });

  it('answers reviews over the self-signed certificate', async () => {
    const response = await request(server.tlsServer)
      .post('/policy')
      .disableTLSCerts()
      .send(imageReview(['nginx:1.13.8']))
      .expect(200);
    expect(response.body.status.allowed).toBe(true);
  });

  it('serves probes on the TLS port as well', async () => {
    await request(server.tlsServer).get('/healthz').disableTLSCerts().expect(200);
  });
});

import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { imageReview } from './support/reviews';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

/** Mutual TLS as the kube-apiserver's kubeconfig uses it: `--client-ca` names the CA it must present a certificate from. */
describe('mutual TLS with --client-ca', () => {
  let pki: TestPki;
  let server: RunningWebhookServer;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startTestServer(pki, { mutualTls: true, healthPort: true });
  });
  afterAll(() => server.close());

  const review = () =>
    request(server.tlsServer)
      .post('/image_policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview(['nginx']));

  it('answers a client presenting a certificate from that CA', async () => {
    const response = await review().cert(pki.client.certificatePem).key(pki.client.privateKeyPem).expect(200);
    expect(response.body.status.allowed).toBe(false);
  });

  // With TLS 1.3 the server's refusal arrives as an alert after the client's handshake completes,
  // so the client sees a reset or an alert rather than a handshake error; either way, no response.
  const REFUSED = /certificate|alert|socket hang up|ECONNRESET|EPIPE/i;

  it('refuses a client with no certificate before any HTTP is exchanged', async () => {
    await expect(review()).rejects.toThrow(REFUSED);
  });

  it('refuses a client whose certificate another CA signed', async () => {
    await expect(
      review().cert(pki.otherCaClient.certificatePem).key(pki.otherCaClient.privateKeyPem),
    ).rejects.toThrow(REFUSED);
  });

  it('refuses a client whose certificate has expired', async () => {
    await expect(
      review().cert(pki.expiredClient.certificatePem).key(pki.expiredClient.privateKeyPem),
    ).rejects.toThrow(REFUSED);
  });

  it('still serves probes without a client certificate on the health port', async () => {
    const response = await request(server.healthServer!).get('/readyz').expect(200);
    expect(response.body.info.tls).toMatchObject({ status: 'up', mutualTls: true, selfSigned: false });
  });
});

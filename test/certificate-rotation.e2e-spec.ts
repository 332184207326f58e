import { X509Certificate } from 'node:crypto';
import { Agent, request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { IssuedCertificate, issueCertificate } from '../src/tls/certificate-issuer';
import { eventually } from './support/eventually';
import { imageReview } from './support/reviews';
import { SecretVolume } from './support/secret-volume';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

/** The fingerprint a brand-new TLS connection is shown. */
function fingerprintOfNewConnection(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca }, () => {
      resolve(new X509Certificate(socket.getPeerCertificate().raw).fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('certificate rotation', () => {
  let pki: TestPki;
  let volume: SecretVolume;
  let server: RunningWebhookServer;
  let next: IssuedCertificate;

  beforeAll(async () => {
    pki = await createTestPki();
    volume = new SecretVolume();
    volume.publish(pki.server.certificatePem, pki.server.privateKeyPem);
    next = await issueCertificate(pki.ca, {
      commonName: 'rotated',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    server = await startTestServer(pki, {
      healthPort: true,
      certificate: { certificatePath: volume.certPath, keyPath: volume.keyPath },
    });
  });
  afterAll(() => server.close());

  const ready = async () =>
    (await request(server.healthServer!).get('/readyz').expect(200)).body.info.tls as Record<string, unknown>;

  it('swaps the certificate under a keep-alive client with no failed request; new connections see the new one', async () => {
    const port = server.address.port;
    expect(await fingerprintOfNewConnection(port, pki.ca.certificatePem)).toBe(pki.server.fingerprint256);

    const agent = new Agent({ keepAlive: true, maxSockets: 2, ca: pki.ca.certificatePem });
    const body = JSON.stringify(imageReview(['nginx:1.13.8']));
    const sockets = new Set<unknown>();
    let answered = 0;
    const failures: string[] = [];
    let sending = true;
    const send = (): Promise<void> =>
      new Promise((resolve) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            path: '/image_policy',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json' },
          },
          (res) => {
            sockets.add(res.socket);
            let text = '';
            res.on('data', (chunk: Buffer) => (text += chunk.toString()));
            res.on('end', () => {
              if (res.statusCode !== 200 || !text.includes('"allowed":true'))
                failures.push(`${res.statusCode} ${text}`);
              answered++;
              resolve();
            });
          },
        );
        req.on('error', (error) => {
          failures.push(error.message);
          resolve();
        });
        req.end(body);
      });
    /** Reviews answered after the new certificate was seen on a new connection. */
    let afterRotation = 0;
    let rotated = false;
    const client = (async () => {
      while (sending) {
        await send();
        if (rotated) afterRotation++;
      }
    })();

    // Counts, not times: the keep-alive client must have been answered before the swap and after it.
    await eventually('a review to be answered before the swap', () =>
      answered > 0 ? Promise.resolve() : Promise.reject(new Error('none yet')),
    );
    volume.publish(next.certificatePem, next.privateKeyPem);
    await eventually('new connections to see the new certificate', async () =>
      expect(await fingerprintOfNewConnection(port, pki.ca.certificatePem)).toBe(next.fingerprint256),
    );
    rotated = true;
    await eventually('reviews to be answered on the old connections after the swap', () =>
      afterRotation >= 10 ? Promise.resolve() : Promise.reject(new Error(`${afterRotation} so far`)),
    );
    sending = false;
    await client;
    agent.destroy();

    expect(failures).toEqual([]);
    // The same keep-alive connections carried requests before and after the swap.
    expect(sockets.size).toBeLessThanOrEqual(2);
    expect(await ready()).toMatchObject({ status: 'up', fingerprint256: next.fingerprint256 });
  });

  it('refuses a certificate whose key does not match, and keeps serving the last good one', async () => {
    const stranger = await issueCertificate(pki.ca, {
      commonName: 'stranger',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    volume.publish(stranger.certificatePem, next.privateKeyPem);
    // The refusal is reported, rather than assumed to have happened after some time.
    const refused = await eventually('the mismatched pair to be refused', async () => {
      const tls = await ready();
      expect(tls.lastRotationRefused).toBeDefined();
      return tls.lastRotationRefused as { message: string };
    });
    expect(refused.message).toContain('do not form a usable pair');
    expect(await fingerprintOfNewConnection(server.address.port, pki.ca.certificatePem)).toBe(
      next.fingerprint256,
    );
    expect(await ready()).toMatchObject({ status: 'up', fingerprint256: next.fingerprint256 });

    const response = await request(server.tlsServer)
      .post('/policy')
      .ca(pki.ca.certificatePem)
      .send(imageReview(['nginx']))
      .expect(200);
    expect(response.body.status.allowed).toBe(false);
  });

  it('warns in readiness when the certificate is within 7 days of expiry', async () => {
    const expiring = await issueCertificate(pki.ca, {
      commonName: 'expiring',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
      notAfter: new Date(Date.now() + 3 * 86_400_000 + 3_600_000),
    });
    volume.publish(expiring.certificatePem, expiring.privateKeyPem);
    await eventually('the expiring certificate to be in force', async () =>
      expect((await ready()).fingerprint256).toBe(expiring.fingerprint256),
    );
    expect(await ready()).toMatchObject({
      status: 'up',
      warning: `serving certificate expires in 3 day(s), at ${expiring.notAfter.toISOString()}`,
    });
    expect((await ready()).lastRotationRefused).toBeUndefined();
  });
});

import request from 'supertest';
import { RunningWebhookServer } from '../src/server/webhook-server';
import { IssuedCertificate, issueCertificate } from '../src/tls/certificate-issuer';
import { eventually } from './support/eventually';
import { parsePrometheusText, sampleValue } from './support/prometheus-text';
import { SecretVolume } from './support/secret-volume';
import { TestPki, createTestPki } from './support/test-pki';
import { startTestServer } from './support/webhook-server.fixture';

const DAY = 86_400_000;

/**
 * The apiserver refuses a serving certificate outside its validity (Go's crypto/x509), so every
 * review would fail: readiness fails while the certificate in force is expired or not yet valid,
 * and warns from a configurable time before it expires.
 */
describe('readiness and the serving certificate’s validity', () => {
  let pki: TestPki;
  const servers: RunningWebhookServer[] = [];
  beforeAll(async () => {
    pki = await createTestPki();
  });
  afterEach(() => Promise.all(servers.splice(0).map((s) => s.close())));

  const serverCertificate = (validity: { notBefore?: Date; notAfter?: Date }): Promise<IssuedCertificate> =>
    issueCertificate(pki.ca, {
      commonName: 'kube-image-bouncer',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
      ...validity,
    });
  const serve = async (pair: IssuedCertificate, expiryWarningMs?: number) => {
    const volume = new SecretVolume();
    volume.publish(pair.certificatePem, pair.privateKeyPem);
    const server = await startTestServer(pki, {
      healthPort: true,
      expiryWarningMs,
      certificate: { certificatePath: volume.certPath, keyPath: volume.keyPath },
    });
    servers.push(server);
    const readyz = () => request(server.healthServer!).get('/readyz');
    return { server, volume, readyz };
  };

  it('fails readiness with a certificate that has expired', async () => {
    const expired = await serverCertificate({
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - 60_000),
    });
    const { readyz } = await serve(expired);

    const response = await readyz().expect(503);
    expect(response.body).toMatchObject({
      status: 'error',
      message: `tls: serving certificate expired at ${expired.notAfter.toISOString()}; clients refuse it`,
      error: { tls: { status: 'down', fingerprint256: expired.fingerprint256 } },
    });
  });

  it('fails readiness with a certificate that is not valid yet', async () => {
    const early = await serverCertificate({
      notBefore: new Date(Date.now() + DAY),
      notAfter: new Date(Date.now() + 30 * DAY),
    });
    const { readyz } = await serve(early);

    const response = await readyz().expect(503);
    expect(response.body.message).toMatch(
      /^tls: serving certificate is not valid until \S+; clients refuse it/,
    );
  });

  it('warns from 7 days before expiry by default, and from the configured time when given', async () => {
    const expiring = await serverCertificate({ notAfter: new Date(Date.now() + 3 * DAY + 3_600_000) });
    const byDefault = await serve(expiring);
    const configured = await serve(expiring, 2 * DAY);

    expect((await byDefault.readyz().expect(200)).body.info.tls).toMatchObject({
      status: 'up',
      warning: `serving certificate expires in 3 day(s), at ${expiring.notAfter.toISOString()}`,
    });
    expect((await configured.readyz().expect(200)).body.info.tls.warning).toBeUndefined();
  });

  it('fails readiness once a rotation puts an expired certificate in force, and recovers with a valid one', async () => {
    const { readyz, volume } = await serve(pki.server);
    await readyz().expect(200);
    const expired = await serverCertificate({
      notBefore: new Date(Date.now() - 30 * DAY),
      notAfter: new Date(Date.now() - 60_000),
    });

    volume.publish(expired.certificatePem, expired.privateKeyPem);
    await eventually('the expired certificate to be in force', async () =>
      expect((await readyz()).body.error?.tls?.fingerprint256).toBe(expired.fingerprint256),
    );
    await readyz().expect(503);

    volume.publish(pki.server.certificatePem, pki.server.privateKeyPem);
    await eventually('the valid certificate to be in force', () => readyz().expect(200));
  });

  it('reports the seconds left until expiry as a metric, beside the expiry time', async () => {
    const { server } = await serve(pki.server);
    const before = Date.now() / 1000;
    const samples = parsePrometheusText(
      (await request(server.healthServer!).get('/metrics').expect(200)).text,
    );
    const after = Date.now() / 1000;

    const expiresAt = pki.server.notAfter.getTime() / 1000;
    expect(sampleValue(samples, 'kube_image_bouncer_certificate_expiry_timestamp_seconds')).toBe(expiresAt);
    const left = sampleValue(samples, 'kube_image_bouncer_certificate_expiry_seconds')!;
    expect(left).toBeLessThanOrEqual(expiresAt - before);
    expect(left).toBeGreaterThanOrEqual(expiresAt - after);
  });
});

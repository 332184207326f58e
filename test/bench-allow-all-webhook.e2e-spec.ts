import { AddressInfo } from 'node:net';
import { request } from 'node:https';
import { createSelfSignedCertificate } from '../src/tls/certificate-issuer';
import { ALLOW_ALL_WARNING, allowAllWebhook } from '../bench/allow-all-webhook';

function post(port: number, ca: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/validate',
        method: 'POST',
        ca,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}

describe('the allow-all webhook bench:apiserver times as what any webhook costs', () => {
  it('allows the review it is sent under that review’s uid, and says so in a warning', async () => {
    const certificate = await createSelfSignedCertificate({
      commonName: 'allow-all',
      usages: ['server'],
      ipAddresses: ['127.0.0.1'],
    });
    const server = allowAllWebhook(certificate.certificatePem, certificate.privateKeyPem);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u-1' } };
      const answer = await post(port, certificate.certificatePem, JSON.stringify(review));
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toEqual({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: 'u-1', allowed: true, warnings: [ALLOW_ALL_WARNING] },
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

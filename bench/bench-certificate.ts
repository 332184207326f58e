import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSelfSignedCertificate } from '../src/tls/certificate-issuer';

/** A serving pair for 127.0.0.1 in `dir`, which every server under measurement uses alike. */
export async function writeBenchCertificate(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const certificate = await createSelfSignedCertificate({
    commonName: 'bench',
    usages: ['server'],
    ipAddresses: ['127.0.0.1'],
  });
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  writeFileSync(certPath, certificate.certificatePem);
  writeFileSync(keyPath, certificate.privateKeyPem);
  return { certPath, keyPath };
}

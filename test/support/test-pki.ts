import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CertificateAuthority,
  IssuedCertificate,
  createCertificateAuthority,
  issueCertificate,
} from '../../src/tls/certificate-issuer';

/** Certificates for one test file: a CA with server and client leaves, and a second CA nobody trusts. */
export interface TestPki {
  readonly dir: string;
  readonly ca: CertificateAuthority;
  readonly server: IssuedCertificate;
  readonly client: IssuedCertificate;
  readonly otherCa: CertificateAuthority;
  readonly otherCaClient: IssuedCertificate;
  readonly expiredClient: IssuedCertificate;
  readonly paths: { readonly caCert: string; readonly serverCert: string; readonly serverKey: string };
}

export async function createTestPki(): Promise<TestPki> {
  const dir = mkdtempSync(join(tmpdir(), 'bouncer-pki-'));
  const ca = await createCertificateAuthority({ commonName: 'test bouncer CA' });
  const otherCa = await createCertificateAuthority({ commonName: 'some other CA' });
  const server = await issueCertificate(ca, {
    commonName: 'kube-image-bouncer',
    usages: ['server'],
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
  });
  const client = await issueCertificate(ca, { commonName: 'kube-apiserver', usages: ['client'] });
  const otherCaClient = await issueCertificate(otherCa, { commonName: 'kube-apiserver', usages: ['client'] });
  const expiredClient = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    usages: ['client'],
    notBefore: new Date(Date.now() - 10 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  const paths = {
    caCert: join(dir, 'ca.crt'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
  writeFileSync(paths.caCert, ca.certificatePem);
  writeFileSync(paths.serverCert, server.certificatePem);
  writeFileSync(paths.serverKey, server.privateKeyPem, { mode: 0o600 });
  return { dir, ca, server, client, otherCa, otherCaClient, expiredClient, paths };
}

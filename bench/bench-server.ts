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

/** `node` arguments that start the built bouncer on a loopback port, as every bench measures it. */
export function bouncerServeArgs(options: {
  readonly dist?: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly port: number;
  readonly workers: number;
  readonly policy?: string;
}): string[] {
  const { dist = 'dist', certPath, keyPath, port, workers, policy } = options;
  return [
    join(dist, 'main.js'),
    'serve',
    ...['--cert', certPath, '--key', keyPath],
    ...['--host', '127.0.0.1', '--port', String(port)],
    ...['--workers', String(workers)],
    ...(policy ? ['--policy', policy] : []),
  ];
}

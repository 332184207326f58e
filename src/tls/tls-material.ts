import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SecureContextOptions, createSecureContext } from 'node:tls';
import { TlsConfig } from '../config/bouncer-config';
import { createSelfSignedCertificate } from './certificate-issuer';

/** Everything the TLS listener needs, read and checked once; a bad file fails boot with its path named. */
export interface TlsMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly clientCaPem?: string;
  readonly selfSigned: boolean;
  readonly fingerprint256: string;
  readonly notAfter: Date;
}

export class TlsMaterialError extends Error {
  override name = 'TlsMaterialError';
}

async function readPem(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new TlsMaterialError(`cannot read ${flag} ${path}: ${(error as Error).message}`);
  }
}

function parseCertificate(pem: string, source: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new TlsMaterialError(`${source} is not a PEM certificate: ${(error as Error).message}`);
  }
}

function selfSignedNames(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = new Set(['localhost', hostname()]);
  const ipAddresses = new Set(['127.0.0.1', '::1']);
  if (host !== '0.0.0.0' && host !== '::') {
    (/^[\d.]+$|:/.test(host) ? ipAddresses : dnsNames).add(host);
  }
  return { dnsNames: [...dnsNames], ipAddresses: [...ipAddresses] };
}

export async function loadTlsMaterial(config: TlsConfig, host: string): Promise<TlsMaterial> {
  const clientCaPem = config.clientCaPath ? await readPem(config.clientCaPath, '--client-ca') : undefined;
  if (clientCaPem !== undefined) parseCertificate(clientCaPem, `--client-ca ${config.clientCaPath}`);

  if (!config.certificatePath || !config.keyPath) {
    const issued = await createSelfSignedCertificate({
      commonName: 'kube-image-bouncer',
      usages: ['server'],
      ...selfSignedNames(host),
    });
    return {
      certificatePem: issued.certificatePem,
      privateKeyPem: issued.privateKeyPem,
      clientCaPem,
      selfSigned: true,
      fingerprint256: issued.fingerprint256,
      notAfter: issued.notAfter,
    };
  }

  const [certificatePem, privateKeyPem] = await Promise.all([
    readPem(config.certificatePath, '--cert'),
    readPem(config.keyPath, '--key'),
  ]);
  const certificate = parseCertificate(certificatePem, `--cert ${config.certificatePath}`);
  const material: TlsMaterial = {
    certificatePem,
    privateKeyPem,
    clientCaPem,
    selfSigned: false,
    fingerprint256: certificate.fingerprint256,
    notAfter: new Date(certificate.validTo),
  };
  try {
    createSecureContext(secureContextOptions(material));
  } catch (error) {
    throw new TlsMaterialError(
      `--cert ${config.certificatePath} and --key ${config.keyPath} do not form a usable pair: ${(error as Error).message}`,
    );
  }
  return material;
}

export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  return {
    cert: material.certificatePem,
    key: material.privateKeyPem,
    ca: material.clientCaPem,
    minVersion: 'TLSv1.2',
  };
}

/** Server options for the review listener: with a client CA, a handshake without a certificate it signed fails. */
export function httpsServerOptions(material: TlsMaterial): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  const mutual = material.clientCaPem !== undefined;
  return { ...secureContextOptions(material), requestCert: mutual, rejectUnauthorized: mutual };
}

import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { SecureContextOptions, createSecureContext } from 'node:tls';
import { TlsConfig } from '../config';

/** Everything the TLS listener needs, read and checked once; a bad file fails boot with its path named. */
export interface TlsMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly clientCaPem?: string;
  readonly selfSigned: boolean;
  readonly fingerprint256: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** The part of the TLS configuration that says which files (or generated pair) to serve. */
export type TlsFiles = Pick<TlsConfig, 'certificatePath' | 'keyPath' | 'clientCaPath' | 'generated'>;

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

/** The PEM texts of the configured files, keyed as the config names them. */
export interface TlsFileContents {
  readonly certificatePem?: string;
  readonly privateKeyPem?: string;
  readonly clientCaPem?: string;
}

/** Checks PEM texts read from the configured files and turns them into material; messages name the files. */
export function tlsMaterialFromFiles(
  config: TlsFiles,
  files: TlsFileContents,
  selfSigned?: TlsMaterial,
): TlsMaterial {
  const { clientCaPem } = files;
  if (clientCaPem !== undefined) parseCertificate(clientCaPem, `--client-ca ${config.clientCaPath}`);
  if (files.certificatePem === undefined || files.privateKeyPem === undefined) {
    if (!selfSigned) throw new TlsMaterialError('no certificate and key to serve');
    return { ...selfSigned, clientCaPem };
  }
  const certificate = parseCertificate(files.certificatePem, `--cert ${config.certificatePath}`);
  const material: TlsMaterial = {
    certificatePem: files.certificatePem,
    privateKeyPem: files.privateKeyPem,
    clientCaPem,
    selfSigned: false,
    fingerprint256: certificate.fingerprint256,
    notBefore: new Date(certificate.validFrom),
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

/** The configured files, in a fixed order; absent ones are left out. */
export function tlsFilePaths(config: TlsFiles): string[] {
  return [config.certificatePath, config.keyPath, config.clientCaPath].filter(
    (p): p is string => p !== undefined,
  );
}

export function tlsFileContents(config: TlsFiles, texts: ReadonlyMap<string, string>): TlsFileContents {
  const text = (path?: string): string | undefined => (path === undefined ? undefined : texts.get(path));
  return {
    certificatePem: text(config.certificatePath),
    privateKeyPem: text(config.keyPath),
    clientCaPem: text(config.clientCaPath),
  };
}

async function readConfiguredFiles(config: TlsFiles): Promise<TlsFileContents> {
  const read = (path: string | undefined, flag: string) =>
    path ? readPem(path, flag) : Promise.resolve(undefined);
  const [certificatePem, privateKeyPem, clientCaPem] = await Promise.all([
    read(config.certificatePath, '--cert'),
    read(config.keyPath, '--key'),
    read(config.clientCaPath, '--client-ca'),
  ]);
  return { certificatePem, privateKeyPem, clientCaPem };
}

export async function loadTlsMaterial(config: TlsFiles, host: string): Promise<TlsMaterial> {
  const files = await readConfiguredFiles(config);
  if (!config.certificatePath || !config.keyPath) {
    const issued = config.generated ?? (await generateSelfSignedPair(host));
    const certificate = new X509Certificate(issued.certificatePem);
    const selfSigned: TlsMaterial = {
      certificatePem: issued.certificatePem,
      privateKeyPem: issued.privateKeyPem,
      selfSigned: true,
      fingerprint256: certificate.fingerprint256,
      notBefore: new Date(certificate.validFrom),
      notAfter: new Date(certificate.validTo),
    };
    return tlsMaterialFromFiles(config, { clientCaPem: files.clientCaPem }, selfSigned);
  }
  return tlsMaterialFromFiles(config, files);
}

/** A self-signed certificate for the listen address, made before any server starts (cluster primary). */
export async function generateSelfSignedPair(
  host: string,
): Promise<{ certificatePem: string; privateKeyPem: string }> {
  // Loaded only when a certificate must be made: the X.509 library costs 14 MB a process keeps.
  const { createSelfSignedCertificate } = await import('./certificate-issuer');
  const { certificatePem, privateKeyPem } = await createSelfSignedCertificate({
    commonName: 'kube-image-bouncer',
    usages: ['server'],
    ...selfSignedNames(host),
  });
  return { certificatePem, privateKeyPem };
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

import * as x509 from '@peculiar/x509';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goTool } from './local-registry';

const run = promisify(execFile);

/**
 * The real cosign, offline: keys made with `generate-key-pair`, signatures and attestations pushed
 * to loopback registries, no transparency log. What it writes is what users' pipelines write.
 */
export class Cosign {
  private readonly bin = goTool('cosign');
  readonly dir = mkdtempSync(join(tmpdir(), 'kib-cosign-'));

  /** A key pair in `<name>.key` / `<name>.pub`; the public key's path. */
  async generateKeyPair(name: string): Promise<string> {
    await this.cosign(['generate-key-pair', '--output-key-prefix', name]);
    return join(this.dir, `${name}.pub`);
  }

  /** Turns a PKCS#8 private key into a cosign key pair, for signing with a certificate. */
  async importKeyPair(name: string, pkcs8Pem: string): Promise<void> {
    writeFileSync(join(this.dir, `${name}.pk8`), pkcs8Pem);
    await this.cosign(['import-key-pair', '--key', `${name}.pk8`, '--output-key-prefix', name, '--yes']);
  }

  async sign(
    reference: string,
    key: string,
    options: { newBundleFormat?: boolean; recursive?: boolean; certificate?: string; chain?: string } = {},
  ): Promise<void> {
    await this.cosign([
      'sign',
      '--key',
      `${key}.key`,
      ...(options.newBundleFormat ? ['--new-bundle-format'] : []),
      ...(options.recursive ? ['--recursive'] : []),
      ...(options.certificate ? ['--certificate', options.certificate] : []),
      ...(options.chain ? ['--certificate-chain', options.chain] : []),
      ...COMMON,
      reference,
    ]);
  }

  async attest(reference: string, key: string, type: string, predicate: unknown): Promise<void> {
    const path = join(this.dir, `predicate-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(predicate));
    await this.cosign([
      'attest',
      '--key',
      `${key}.key`,
      '--type',
      type,
      '--predicate',
      path,
      ...COMMON,
      reference,
    ]);
  }

  private async cosign(args: string[]): Promise<string> {
    const { stdout } = await run(this.bin, args, {
      cwd: this.dir,
      env: { ...process.env, COSIGN_PASSWORD: '', DOCKER_CONFIG: this.dir, SIGSTORE_NO_CACHE: '1' },
      timeout: 120_000,
    });
    return stdout;
  }
}

/** Offline: nothing goes to the public transparency log, and loopback registries speak HTTP. */
const COMMON = ['--tlog-upload=false', '--allow-insecure-registry', '--yes'];

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

/** A DER UTF8String, as Fulcio encodes the issuer extension. */
function utf8String(text: string): Uint8Array {
  const bytes = Buffer.from(text, 'utf8');
  return new Uint8Array(Buffer.concat([Buffer.from([0x0c, bytes.length]), bytes]));
}

export interface KeylessIdentity {
  readonly caPem: string;
  readonly leafPem: string;
  readonly leafKeyPkcs8: string;
}

/**
 * A Fulcio-like signing certificate from a local CA: a code-signing leaf whose SAN is a CI
 * workflow URI and whose issuer extension names the OIDC issuer, as GitHub Actions' keyless
 * signatures carry.
 */
export async function keylessIdentity(subject: string, issuer: string): Promise<KeylessIdentity> {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const caKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const now = Date.now();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=test fulcio',
    keys: caKeys,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const leafKeys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=sigstore',
    issuer: ca.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALGORITHM,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: subject }]),
      new x509.Extension(FULCIO_ISSUER_V2, false, utf8String(issuer)),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey);
  return {
    caPem: ca.toString('pem'),
    leafPem: leaf.toString('pem'),
    leafKeyPkcs8: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

/** Pushes a manifest and its blobs with the distribution API itself, for artifacts no tool makes. */
export async function pushArtifact(
  host: string,
  repository: string,
  tag: string,
  manifest: Record<string, unknown>,
  blobs: readonly Buffer[],
): Promise<void> {
  for (const blob of blobs) {
    const digest = `sha256:${(await import('node:crypto')).createHash('sha256').update(blob).digest('hex')}`;
    const started = await fetch(`http://${host}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    const location = new URL(started.headers.get('location')!, `http://${host}`);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      body: blob,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
    if (!put.ok) throw new Error(`blob upload failed: ${put.status}`);
  }
  const put = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    body: JSON.stringify(manifest),
    headers: { 'Content-Type': String(manifest.mediaType) },
  });
  if (!put.ok) throw new Error(`manifest upload failed: ${put.status} ${await put.text()}`);
}

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
  private readonly bin: string;
  readonly dir = mkdtempSync(join(tmpdir(), 'kib-cosign-'));

  /** cosign v2.6.5, or (`cosign3`) v3.0.6, whose default is a sigstore bundle and a signing config. */
  constructor(private readonly tool: 'cosign' | 'cosign3' = 'cosign') {
    this.bin = goTool(tool);
  }

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

  /** Signs `reference`, or every reference of a list in one cosign run (much cheaper than a run each). */
  async sign(
    reference: string | readonly string[],
    key: string,
    options: {
      newBundleFormat?: boolean;
      recursive?: boolean;
      certificate?: string;
      chain?: string;
      /** cosign v3: the classic `.sig` layout instead of its default bundle. */
      classic?: boolean;
      /** cosign v3: a local signing configuration (its TSA, no log) and the trusted root it checks with. */
      signingConfig?: { readonly path: string; readonly trustedRoot: string };
      /** A TSA for the classic layout, which does not read a signing configuration. */
      timestampUrl?: string;
    } = {},
  ): Promise<void> {
    const v3 = this.tool === 'cosign3';
    await this.cosign([
      'sign',
      '--key',
      `${key}.key`,
      ...(options.newBundleFormat ? ['--new-bundle-format'] : []),
      ...(options.classic ? ['--new-bundle-format=false'] : []),
      ...(options.recursive ? ['--recursive'] : []),
      ...(options.certificate ? ['--certificate', options.certificate] : []),
      ...(options.chain ? ['--certificate-chain', options.chain] : []),
      ...(options.timestampUrl ? ['--timestamp-server-url', options.timestampUrl] : []),
      ...(options.signingConfig
        ? [
            '--signing-config',
            options.signingConfig.path,
            '--trusted-root',
            options.signingConfig.trustedRoot,
          ]
        : v3
          ? // Offline: no TUF signing configuration to fetch, and no log to upload to.
            ['--use-signing-config=false', '--tlog-upload=false']
          : ['--tlog-upload=false']),
      '--allow-insecure-registry',
      '--yes',
      ...(typeof reference === 'string' ? [reference] : reference),
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
      // cosign v3, offline: no TUF signing configuration to fetch (as for sign).
      ...(this.tool === 'cosign3' ? ['--use-signing-config=false'] : []),
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
export async function keylessIdentity(
  subject: string,
  issuer: string,
  options: { readonly validForMs?: number } = {},
): Promise<KeylessIdentity> {
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
    notAfter: new Date(now + (options.validForMs ?? 3_600_000)),
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

/**
 * What cosign v3 signs with offline, as a user without sigstore's public services would set it
 * up: a signing configuration naming only a local TSA (no Fulcio, no Rekor), and the trusted root
 * cosign checks its own result against, listing that TSA's chain.
 * https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto (SigningConfig)
 */
export function localSigningConfig(
  dir: string,
  tsa: { readonly url: string; readonly chainPem: string },
): { readonly path: string; readonly trustedRoot: string } {
  const der = (pem: string): string[] =>
    (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) =>
      Buffer.from(block.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64').toString('base64'),
    );
  const path = join(dir, 'signing-config.json');
  const trustedRoot = join(dir, 'trusted_root.json');
  writeFileSync(
    path,
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.signingconfig.v0.2+json',
      caUrls: [],
      oidcUrls: [],
      rekorTlogUrls: [],
      tsaUrls: [
        { url: tsa.url, majorApiVersion: 1, validFor: { start: '2020-01-01T00:00:00Z' }, operator: 'local' },
      ],
      rekorTlogConfig: { selector: 'ANY' },
      tsaConfig: { selector: 'ANY' },
    }),
  );
  writeFileSync(
    trustedRoot,
    JSON.stringify({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [
        {
          subject: { organization: 'acme', commonName: 'local tsa' },
          uri: tsa.url,
          certChain: { certificates: der(tsa.chainPem).map((rawBytes) => ({ rawBytes })) },
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
      ],
    }),
  );
  return { path, trustedRoot };
}

import { KeyObject, X509Certificate, createHash, createPublicKey } from 'node:crypto';

/** A public key a rule trusts, with how explanations name it. */
export interface TrustedKey {
  readonly key: KeyObject;
  /** `sha256:3f2a…` of the key's SubjectPublicKeyInfo, the first 16 hex digits. */
  readonly fingerprint: string;
  /** The file it came from, or `inline`. */
  readonly source: string;
}

/**
 * Who may have signed a keyless signature: the SAN of the signing certificate (an email, or a URI
 * such as a CI workflow) and the OIDC issuer Fulcio wrote into it. Exact values or regular
 * expressions, as cosign's `--certificate-identity(-regexp)` and `--certificate-oidc-issuer(-regexp)`.
 */
export interface TrustedIdentity {
  readonly issuer?: string;
  readonly issuerRegExp?: RegExp;
  readonly subject?: string;
  readonly subjectRegExp?: RegExp;
}

/** A sigstore transparency log's key, for checking inclusion proofs offline. */
export interface TrustedLog {
  /** SHA-256 of the log's public key, as entries name their log. */
  readonly logId: string;
  readonly key: KeyObject;
}

/** A TrustedRoot's `validFor`: when a certificate authority or a CT log may be relied on. */
export interface ValidityWindow {
  readonly validFrom?: Date;
  readonly validUntil?: Date;
}

export const withinWindow = (window: ValidityWindow, at: Date): boolean =>
  (window.validFrom === undefined || window.validFrom <= at) &&
  (window.validUntil === undefined || at <= window.validUntil);

/**
 * A certificate transparency log's key, for checking the signed certificate timestamps (SCTs) that
 * Fulcio embeds in the certificates it issues (RFC 6962 §3.3). Its window is the trusted root's
 * `validFor`: an SCT dated outside it does not count.
 */
export interface TrustedCtLog extends ValidityWindow {
  /** SHA-256 of the log's SubjectPublicKeyInfo, in hex: RFC 6962's LogID, as SCTs name their log. */
  readonly logId: string;
  readonly key: KeyObject;
}

export interface CertificateTrust {
  /** The roots and intermediates a signing certificate must chain to. */
  readonly authorities: readonly X509Certificate[];
  readonly identities: readonly TrustedIdentity[];
  /** When set, a signature counts only with a transparency-log inclusion proof that verifies offline. */
  readonly requireTransparencyLog: boolean;
  readonly logs: readonly TrustedLog[];
  /**
   * The trusted root's CT logs. When there are any, a signing certificate counts only with an
   * embedded SCT that one of them signed; with none (a `caFile`, or a root whose `ctlogs` is
   * empty) no SCT can be asked for.
   */
  readonly ctLogs: readonly TrustedCtLog[];
  /**
   * The trusted root's `validFor` of its certificate authorities, by the `fingerprint256` of each
   * certificate in their chains: such a certificate is a trusted authority only for a signing time
   * within one of its windows, as in sigstore-go and sigstore-js, so a retired Fulcio stops issuing.
   * An authority without an entry (a caFile's) is trusted whenever it is itself valid.
   */
  readonly authorityValidFor?: ReadonlyMap<string, readonly ValidityWindow[]>;
}

/**
 * The trust material of one rule: keys, or certificate authorities with identities. Compiled once
 * when the policy loads, from files only: nothing is fetched at admission time (no TUF, no log
 * lookups). `hash` names the material in verification cache keys, so a changed key never reuses a
 * verdict reached with the old one.
 */
export interface SignatureTrust {
  readonly keys: readonly TrustedKey[];
  readonly certificates?: CertificateTrust;
  readonly hash: string;
}

export class TrustMaterialError extends Error {
  override name = 'TrustMaterialError';
}

const spkiFingerprint = (key: KeyObject): string =>
  `sha256:${createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16)}`;

export function trustedKey(pem: string, source: string): TrustedKey {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new TrustMaterialError(`${source} is not a PEM public key: ${(error as Error).message}`);
  }
  return { key, fingerprint: spkiFingerprint(key), source };
}

/** Every certificate in a PEM bundle. */
export function certificatesIn(pem: string, source: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TrustMaterialError(`${source} holds no PEM certificate`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TrustMaterialError(
        `${source} holds a certificate that cannot be read: ${(error as Error).message}`,
      );
    }
  });
}

interface TransparencyLogInstance {
  publicKey?: { rawBytes?: unknown; validFor?: ValidFor };
}

interface ValidFor {
  start?: unknown;
  end?: unknown;
}

/** A `validFor` (RFC 3339 timestamps, as protobuf's JSON writes them); a bound it leaves out is open. */
function windowOf(validFor: ValidFor | undefined, what: string, source: string): ValidityWindow {
  const bound = (value: unknown): Date | undefined => {
    if (value === undefined || value === null) return undefined;
    const at = typeof value === 'string' ? new Date(value) : undefined;
    if (at === undefined || Number.isNaN(at.getTime()))
      throw new TrustMaterialError(`${source} has ${what} whose validFor is not a timestamp`);
    return at;
  };
  return { validFrom: bound(validFor?.start), validUntil: bound(validFor?.end) };
}

/**
 * A CT log of the trusted root. Unlike a transparency log without a key, which is skipped, a CT
 * log that cannot be read refuses the whole document: skipping it could leave no CT log at all,
 * and with it no SCT required.
 */
function ctLogOf(log: TransparencyLogInstance, source: string): TrustedCtLog {
  if (typeof log?.publicKey?.rawBytes !== 'string')
    throw new TrustMaterialError(`${source} has a CT log without a public key`);
  const der = Buffer.from(log.publicKey.rawBytes, 'base64');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    throw new TrustMaterialError(`${source} has a CT log key that cannot be read`);
  }
  // RFC 6962 v1 SCTs are signed with ECDSA or RSA only.
  if (key.asymmetricKeyType !== 'ec' && key.asymmetricKeyType !== 'rsa')
    throw new TrustMaterialError(
      `${source} has a CT log key of type ${key.asymmetricKeyType}, which cannot sign RFC 6962 timestamps`,
    );
  return {
    // The log's id is its key's hash by definition (RFC 6962 §3.2); the document's keyId is not trusted for it.
    logId: createHash('sha256').update(der).digest('hex'),
    key,
    ...windowOf(log.publicKey.validFor, 'a CT log', source),
  };
}

/**
 * The certificate authorities, transparency logs and CT logs of a sigstore TrustedRoot document
 * (`application/vnd.dev.sigstore.trustedroot+json`), as `cosign trusted-root create` writes it
 * and as TUF would deliver it; here it is a file the operator mounts.
 * https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_trustroot.proto
 */
export function readTrustedRoot(
  text: string,
  source: string,
): {
  authorities: X509Certificate[];
  authorityValidFor: Map<string, ValidityWindow[]>;
  logs: TrustedLog[];
  ctLogs: TrustedCtLog[];
} {
  let root: {
    certificateAuthorities?: {
      certChain?: { certificates?: { rawBytes?: string }[] };
      validFor?: ValidFor;
    }[];
    tlogs?: { publicKey?: { rawBytes?: string }; logId?: { keyId?: string } }[];
    ctlogs?: unknown;
  };
  try {
    root = JSON.parse(text) as typeof root;
  } catch (error) {
    throw new TrustMaterialError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const authorityValidFor = new Map<string, ValidityWindow[]>();
  const authorities = (root.certificateAuthorities ?? []).flatMap((ca) => {
    const window = windowOf(ca?.validFor, 'a certificate authority', source);
    return (ca?.certChain?.certificates ?? []).flatMap((cert) => {
      if (typeof cert?.rawBytes !== 'string') return [];
      let certificate: X509Certificate;
      try {
        certificate = new X509Certificate(Buffer.from(cert.rawBytes, 'base64'));
      } catch {
        throw new TrustMaterialError(`${source} has a certificate authority that cannot be read`);
      }
      authorityValidFor.set(certificate.fingerprint256, [
        ...(authorityValidFor.get(certificate.fingerprint256) ?? []),
        window,
      ]);
      return [certificate];
    });
  });
  const logs = (root.tlogs ?? []).flatMap((log) => {
    if (typeof log.publicKey?.rawBytes !== 'string') return [];
    const der = Buffer.from(log.publicKey.rawBytes, 'base64');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      throw new TrustMaterialError(`${source} has a transparency log key that cannot be read`);
    }
    return [{ logId: createHash('sha256').update(der).digest('hex'), key }];
  });
  if (root.ctlogs !== undefined && root.ctlogs !== null && !Array.isArray(root.ctlogs))
    throw new TrustMaterialError(`${source} has a ctlogs that is not a list`);
  const ctLogs = ((root.ctlogs ?? []) as TransparencyLogInstance[]).map((log) => ctLogOf(log, source));
  return { authorities, authorityValidFor, logs, ctLogs };
}

/** The hash that names a rule's trust material in cache keys. */
export function trustHash(keys: readonly TrustedKey[], certificates: CertificateTrust | undefined): string {
  const hash = createHash('sha256');
  for (const { key } of keys) hash.update(key.export({ type: 'spki', format: 'der' })).update('\0');
  if (certificates) {
    for (const authority of certificates.authorities) hash.update(authority.raw).update('\0');
    for (const log of certificates.logs) hash.update(log.logId).update('\0');
    // Validity windows decide too: which authorities issue, and which SCTs count, at a given time.
    const window = (w: ValidityWindow): string =>
      `${w.validFrom?.toISOString() ?? '-'} ${w.validUntil?.toISOString() ?? '-'}`;
    for (const log of certificates.ctLogs) hash.update(`ct ${log.logId} ${window(log)}\0`);
    for (const [fingerprint, windows] of [...(certificates.authorityValidFor ?? [])].sort(([a], [b]) =>
      a.localeCompare(b),
    ))
      hash.update(`ca ${fingerprint} ${windows.map(window).join(' ')}\0`);
    hash.update(
      JSON.stringify(
        certificates.identities.map((i) => [
          i.issuer,
          i.issuerRegExp?.source,
          i.subject,
          i.subjectRegExp?.source,
        ]),
      ),
    );
    hash.update(String(certificates.requireTransparencyLog));
  }
  return hash.digest('hex');
}

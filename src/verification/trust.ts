import { KeyObject, X509Certificate, createHash, createPublicKey } from 'node:crypto';
import type { DistinguishedName } from './notation-identity';

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
  /** SHA-256 of the log's public key, as Rekor v1 entries name their log. */
  readonly logId: string;
  /**
   * Other ids the trusted root gives the log, in hex: its `logId` and `checkpointKeyId` as written.
   * Rekor v2 (rekor-tiles) names its log, and signs its checkpoints, by a signed-note key id
   * rather than the hash of its key. An id only chooses the key: what it signed must verify.
   */
  readonly otherIds?: readonly string[];
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
 * RFC 3161 timestamp authorities a rule trusts, for cosign's signatures: the trusted root's
 * `timestampAuthorities` and the PEM chains `certificates.timestampAuthorities` names. Each
 * certificate of theirs is an anchor (a TSA's own certificate, as a trusted root lists it, too),
 * within its trusted root's `validFor` where there is one.
 */
export interface TimestampTrust {
  readonly authorities: readonly X509Certificate[];
  readonly authorityValidFor?: ReadonlyMap<string, readonly ValidityWindow[]>;
  /**
   * `certificates.requireTimestamp`: a signature counts only with a verified signed time, an
   * RFC 3161 timestamp by one of the authorities or a transparency log's signed entry timestamp.
   */
  readonly required: boolean;
}

/** A Notary Project trusted identity: `*`, or a distinguished name every attribute of which the signer's subject carries. */
export type NotationIdentity =
  | { readonly anyone: true; readonly written: '*' }
  | { readonly name: DistinguishedName; readonly written: string };

/**
 * Notary Project trust: notation's trust store of type `ca` (CA or self-signed signing
 * certificates), its trust policy's `trustedIdentities`, and its trust store of type `tsa`. With
 * any TSA, every signature needs a verified timestamp countersignature (notation's default,
 * `verifyTimestamp: always`); without, the signing chain must be valid now.
 */
export interface NotationTrust {
  readonly trustStore: readonly X509Certificate[];
  readonly identities: readonly NotationIdentity[];
  readonly timestampAuthorities: readonly X509Certificate[];
}

/**
 * The trust material of one rule: keys, certificate authorities with identities, Notary Project
 * trust, any of them, with timestamp authorities and how many distinct signers must have signed.
 * Compiled once when the policy loads, from files only: nothing is fetched at admission time (no
 * TUF, no log lookups). `hash` names the material in verification cache keys, so a changed key,
 * authority, identity or threshold never reuses a verdict reached with the old one.
 */
export interface SignatureTrust {
  readonly keys: readonly TrustedKey[];
  readonly certificates?: CertificateTrust;
  readonly timestamps?: TimestampTrust;
  readonly notation?: NotationTrust;
  /** Distinct trusted keys or identities that must each have a verified signature; 1 when absent. */
  readonly threshold?: number;
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
  timestampAuthorities: X509Certificate[];
  timestampAuthorityValidFor: Map<string, ValidityWindow[]>;
} {
  type Authorities = {
    certChain?: { certificates?: { rawBytes?: string }[] };
    validFor?: ValidFor;
  }[];
  let root: {
    certificateAuthorities?: Authorities;
    timestampAuthorities?: Authorities;
    tlogs?: {
      publicKey?: { rawBytes?: string };
      logId?: { keyId?: string };
      checkpointKeyId?: { keyId?: string };
    }[];
    ctlogs?: unknown;
  };
  try {
    root = JSON.parse(text) as typeof root;
  } catch (error) {
    throw new TrustMaterialError(`${source} is not JSON: ${(error as Error).message}`);
  }
  const chains = (list: Authorities | undefined, what: string) => {
    const validFor = new Map<string, ValidityWindow[]>();
    if (list !== undefined && list !== null && !Array.isArray(list))
      throw new TrustMaterialError(`${source} has ${what}s that are not a list`);
    const certificates = (list ?? []).flatMap((ca) => {
      const window = windowOf(ca?.validFor, `a ${what}`, source);
      return (ca?.certChain?.certificates ?? []).flatMap((cert) => {
        if (typeof cert?.rawBytes !== 'string') return [];
        let certificate: X509Certificate;
        try {
          certificate = new X509Certificate(Buffer.from(cert.rawBytes, 'base64'));
        } catch {
          throw new TrustMaterialError(`${source} has a ${what} that cannot be read`);
        }
        validFor.set(certificate.fingerprint256, [
          ...(validFor.get(certificate.fingerprint256) ?? []),
          window,
        ]);
        return [certificate];
      });
    });
    return { certificates, validFor };
  };
  const { certificates: authorities, validFor: authorityValidFor } = chains(
    root.certificateAuthorities,
    'certificate authority',
  );
  const { certificates: timestampAuthorities, validFor: timestampAuthorityValidFor } = chains(
    root.timestampAuthorities,
    'timestamp authority',
  );
  const logs = (root.tlogs ?? []).flatMap((log) => {
    if (typeof log.publicKey?.rawBytes !== 'string') return [];
    const der = Buffer.from(log.publicKey.rawBytes, 'base64');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      throw new TrustMaterialError(`${source} has a transparency log key that cannot be read`);
    }
    const logId = createHash('sha256').update(der).digest('hex');
    const otherIds = [log.logId?.keyId, log.checkpointKeyId?.keyId]
      .filter((id): id is string => typeof id === 'string' && id !== '')
      .map((id) => Buffer.from(id, 'base64').toString('hex'))
      .filter((id) => id !== logId);
    return [{ logId, key, ...(otherIds.length > 0 ? { otherIds } : {}) }];
  });
  if (root.ctlogs !== undefined && root.ctlogs !== null && !Array.isArray(root.ctlogs))
    throw new TrustMaterialError(`${source} has a ctlogs that is not a list`);
  const ctLogs = ((root.ctlogs ?? []) as TransparencyLogInstance[]).map((log) => ctLogOf(log, source));
  return { authorities, authorityValidFor, logs, ctLogs, timestampAuthorities, timestampAuthorityValidFor };
}

/** The hash that names a rule's trust material in cache keys: everything that decides a verdict. */
export function trustHash(
  keys: readonly TrustedKey[],
  certificates: CertificateTrust | undefined,
  more: Pick<SignatureTrust, 'timestamps' | 'notation' | 'threshold'> = {},
): string {
  const hash = createHash('sha256');
  const window = (w: ValidityWindow): string =>
    `${w.validFrom?.toISOString() ?? '-'} ${w.validUntil?.toISOString() ?? '-'}`;
  hash.update(`threshold ${more.threshold ?? 1}\0`);
  if (more.timestamps) {
    hash.update(`timestamps required ${more.timestamps.required}\0`);
    for (const authority of more.timestamps.authorities)
      hash.update('tsa ').update(authority.raw).update('\0');
    for (const [fingerprint, windows] of [...(more.timestamps.authorityValidFor ?? [])].sort(([a], [b]) =>
      a.localeCompare(b),
    ))
      hash.update(`tsa ${fingerprint} ${windows.map(window).join(' ')}\0`);
  }
  if (more.notation) {
    for (const certificate of more.notation.trustStore)
      hash.update('notation ca ').update(certificate.raw).update('\0');
    for (const certificate of more.notation.timestampAuthorities)
      hash.update('notation tsa ').update(certificate.raw).update('\0');
    hash.update(`notation identities ${JSON.stringify(more.notation.identities.map((i) => i.written))}\0`);
  }
  for (const { key } of keys) hash.update(key.export({ type: 'spki', format: 'der' })).update('\0');
  if (certificates) {
    for (const authority of certificates.authorities) hash.update(authority.raw).update('\0');
    for (const log of certificates.logs) hash.update(`${log.logId} ${(log.otherIds ?? []).join(' ')}\0`);
    // Validity windows decide too: which authorities issue, and which SCTs count, at a given time.
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

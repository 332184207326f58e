import type { X509Certificate } from 'node:crypto';
import {
  CertificateTrust,
  DistinguishedNameError,
  NotationIdentity,
  NotationTrust,
  SignatureTrust,
  TimestampTrust,
  TrustMaterialError,
  TrustedIdentity,
  TrustedKey,
  X509_SUBJECT,
  certificatesIn,
  isSubsetName,
  parseDistinguishedName,
  readTrustedRoot,
  trustHash,
  trustedKey,
} from '../../verification';
import { JsonSchema, RuleCompileContext, RuleValueError } from './image-rule';

/** The keys, certificate identities and Notary Project identities a signature rule trusts, as the policy writes them. */
export interface SignatureTrustValue {
  keys?: string[];
  threshold?: number;
  certificates?: {
    trustedRoot?: string;
    caFile?: string;
    timestampAuthorities?: string[];
    identities?: { issuer?: string; issuerRegExp?: string; subject?: string; subjectRegExp?: string }[];
    requireTransparencyLog?: boolean;
    requireTimestamp?: boolean;
  };
  notation?: {
    trustStore: string[];
    trustedIdentities: string[];
    timestampAuthorities?: string[];
  };
}

const identitySchema: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  description:
    "Who may have signed: the certificate's SAN (subject) and Fulcio's OIDC issuer extension; exact values or regular expressions, as cosign's --certificate-identity(-regexp) and --certificate-oidc-issuer(-regexp).",
  properties: {
    issuer: { type: 'string', minLength: 1 },
    issuerRegExp: { type: 'string', minLength: 1 },
    subject: { type: 'string', minLength: 1 },
    subjectRegExp: { type: 'string', minLength: 1 },
  },
  anyOf: [{ required: ['issuer'] }, { required: ['issuerRegExp'] }],
};

const files = (description: string): JsonSchema => ({
  type: 'array',
  minItems: 1,
  description,
  items: { type: 'string', minLength: 1 },
});

/** The schema of the trust part shared by verifySignatures and verifyAttestations. */
export const signatureTrustProperties: Record<string, JsonSchema> = {
  keys: {
    type: 'array',
    minItems: 1,
    description: 'PEM public keys (cosign.pub): a file path, or an inline PEM block.',
    items: { type: 'string', minLength: 1 },
  },
  threshold: {
    type: 'integer',
    minimum: 1,
    default: 1,
    description:
      'How many distinct trusted keys or identities (keys, certificate identities and Notary Project identities together) must each have a verified signature. A signer counts once however many of its signatures are present.',
  },
  certificates: {
    type: 'object',
    additionalProperties: false,
    description:
      'Keyless signatures: the signing certificate must chain to these roots and carry one of the identities. With keys and no trustedRoot or caFile, only the timestamps keyed signatures need. Nothing is fetched at admission time.',
    properties: {
      trustedRoot: {
        type: 'string',
        minLength: 1,
        description:
          'A sigstore TrustedRoot JSON document (file); its certificate authorities, transparency logs, CT logs and timestamp authorities are all used.',
      },
      caFile: { type: 'string', minLength: 1, description: 'PEM CA certificates (file).' },
      timestampAuthorities: files(
        "RFC 3161 timestamp authorities: PEM certificate chains (files), trusted besides the trusted root's timestampAuthorities.",
      ),
      identities: { type: 'array', minItems: 1, items: identitySchema },
      requireTransparencyLog: {
        type: 'boolean',
        default: false,
        description:
          "Count a signature only with a transparency-log inclusion proof that verifies offline against the trusted root's log keys.",
      },
      requireTimestamp: {
        type: 'boolean',
        default: false,
        description:
          "Count a signature only with a verified signed time (an RFC 3161 timestamp by a trusted authority, or a log's signed entry timestamp), at which its certificate must be valid. False: such a time is used when present, otherwise now.",
      },
    },
    // Certificates trusted as signers need identities; timestamps alone (for keys) do not.
    dependencies: { trustedRoot: ['identities'], caFile: ['identities'] },
  },
};

/** Notary Project trust, which only verifySignatures has: notation signs images, not attestations. */
export const notationTrustProperty: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['trustStore', 'trustedIdentities'],
  description:
    'Notary Project (notation) signatures, found as OCI referrers of type application/vnd.cncf.notary.signature, JWS or COSE.',
  properties: {
    trustStore: files(
      'notation\'s trust store of type "ca": PEM files of CA or self-signed signing certificates; a signature counts when a certificate of its chain is one of them.',
    ),
    trustedIdentities: {
      type: 'array',
      minItems: 1,
      description:
        'notation\'s trust-policy trustedIdentities: "x509.subject: C=…, ST=…, O=…[, …]" (C, ST and O required; every attribute named must be in the signing certificate\'s subject with that value), or ["*"].',
      items: { type: 'string', minLength: 1 },
    },
    timestampAuthorities: files(
      'notation\'s trust store of type "tsa": PEM TSA root certificates. When given, every signature needs a verified timestamp countersignature by one of them (notation\'s verifyTimestamp: always).',
    ),
  },
};

/** Attestations are cosign's: keys or certificates, either or both. */
export const cosignTrustAnyOf: JsonSchema[] = [{ required: ['keys'] }, { required: ['certificates'] }];
export const signatureTrustAnyOf: JsonSchema[] = [
  { required: ['keys'] },
  { required: ['certificates'] },
  { required: ['notation'] },
];

function regExp(source: string | undefined, path: (string | number)[]): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (error) {
    throw new RuleValueError(path, `is not a regular expression: ${(error as Error).message}`);
  }
}

/** Reads and checks a rule's keys, certificate roots and Notary Project trust now, so admission never reads a file. */
export function compileSignatureTrust(
  value: SignatureTrustValue,
  context: RuleCompileContext,
): SignatureTrust {
  const read = (path: string, at: (string | number)[]): string => {
    try {
      return context.readFile(path);
    } catch (error) {
      throw new RuleValueError(at, (error as Error).message);
    }
  };
  const material = <T>(at: (string | number)[], make: () => T): T => {
    try {
      return make();
    } catch (error) {
      if (error instanceof TrustMaterialError || error instanceof DistinguishedNameError)
        throw new RuleValueError(at, error.message);
      throw error;
    }
  };
  const pems = (paths: readonly string[] | undefined, at: (string | number)[]): X509Certificate[] =>
    (paths ?? []).flatMap((path, index) =>
      material([...at, index], () => certificatesIn(read(path, [...at, index]), path)),
    );
  const keys: TrustedKey[] = [];
  for (const [index, entry] of (value.keys ?? []).entries()) {
    const inline = entry.includes('-----BEGIN');
    const pem = inline ? entry : read(entry, ['keys', index]);
    const key = material(['keys', index], () => trustedKey(pem, inline ? 'inline key' : entry));
    // The same key listed twice is one signer, for a threshold as for anything else.
    if (!keys.some((known) => known.key.equals(key.key))) keys.push(key);
  }
  let certificates: CertificateTrust | undefined;
  let timestamps: TimestampTrust | undefined;
  if (value.certificates) {
    const { trustedRoot, caFile, identities, requireTransparencyLog, requireTimestamp } = value.certificates;
    const signers = trustedRoot !== undefined || caFile !== undefined || identities !== undefined;
    if (signers && trustedRoot === undefined && caFile === undefined)
      throw new RuleValueError(['certificates'], 'must name trustedRoot or caFile');
    if (!signers && keys.length === 0)
      throw new RuleValueError(
        ['certificates'],
        'without trustedRoot or caFile only sets the timestamps keyed signatures need, and the rule has no keys',
      );
    if (requireTransparencyLog && !signers)
      throw new RuleValueError(
        ['certificates', 'requireTransparencyLog'],
        'needs a trustedRoot with transparency-log keys to check inclusion proofs against',
      );
    const root = trustedRoot
      ? material(['certificates', 'trustedRoot'], () =>
          readTrustedRoot(read(trustedRoot, ['certificates', 'trustedRoot']), trustedRoot),
        )
      : undefined;
    const authorities = [
      ...(root?.authorities ?? []),
      ...(caFile
        ? material(['certificates', 'caFile'], () =>
            certificatesIn(read(caFile, ['certificates', 'caFile']), caFile),
          )
        : []),
    ];
    if (signers && authorities.length === 0)
      throw new RuleValueError(['certificates'], 'names no certificate authority');
    if (requireTransparencyLog && (root?.logs.length ?? 0) === 0)
      throw new RuleValueError(
        ['certificates', 'requireTransparencyLog'],
        'needs a trustedRoot with transparency-log keys to check inclusion proofs against',
      );
    const timestampAuthorities = [
      ...(root?.timestampAuthorities ?? []),
      ...pems(value.certificates.timestampAuthorities, ['certificates', 'timestampAuthorities']),
    ];
    if (requireTimestamp && timestampAuthorities.length === 0 && (root?.logs.length ?? 0) === 0)
      throw new RuleValueError(
        ['certificates', 'requireTimestamp'],
        'needs timestampAuthorities, or a trustedRoot with timestamp authorities or transparency-log keys, to verify a signed time against',
      );
    if (timestampAuthorities.length > 0 || requireTimestamp)
      timestamps = {
        authorities: timestampAuthorities,
        authorityValidFor: root?.timestampAuthorityValidFor,
        required: requireTimestamp ?? false,
      };
    if (signers)
      certificates = {
        authorities,
        logs: root?.logs ?? [],
        ctLogs: root?.ctLogs ?? [],
        authorityValidFor: root?.authorityValidFor,
        requireTransparencyLog: requireTransparencyLog ?? false,
        identities: (identities ?? []).map((identity, index): TrustedIdentity => ({
          issuer: identity.issuer,
          issuerRegExp: regExp(identity.issuerRegExp, ['certificates', 'identities', index, 'issuerRegExp']),
          subject: identity.subject,
          subjectRegExp: regExp(identity.subjectRegExp, [
            'certificates',
            'identities',
            index,
            'subjectRegExp',
          ]),
        })),
      };
  }
  const notation = value.notation ? compileNotationTrust(value.notation, pems) : undefined;
  const threshold = value.threshold ?? 1;
  const entries = keys.length + (certificates?.identities.length ?? 0) + (notation?.identities.length ?? 0);
  if (threshold > entries)
    throw new RuleValueError(
      ['threshold'],
      `${threshold} cannot be met: the rule trusts ${entries} distinct ${entries === 1 ? 'key or identity' : 'keys and identities'}`,
    );
  const more = {
    ...(timestamps ? { timestamps } : {}),
    ...(notation ? { notation } : {}),
    ...(value.threshold !== undefined ? { threshold } : {}),
  };
  return { keys, certificates, ...more, hash: trustHash(keys, certificates, more) };
}

/**
 * notation's trust store, trusted identities and TSA roots. Identities are parsed and checked as
 * notation validates a trust policy: `*` alone, or `x509.subject:` distinguished names naming C,
 * ST and O, no two of which overlap (one a subset of the other), since a certificate both
 * describe would make either redundant.
 */
function compileNotationTrust(
  value: NonNullable<SignatureTrustValue['notation']>,
  pems: (paths: readonly string[] | undefined, at: (string | number)[]) => X509Certificate[],
): NotationTrust {
  const at = (...path: (string | number)[]): (string | number)[] => ['notation', ...path];
  const written = value.trustedIdentities;
  if (written.includes('*') && written.length > 1)
    throw new RuleValueError(at('trustedIdentities'), 'may hold "*" only alone');
  const identities: NotationIdentity[] = written.map((identity, index) => {
    if (identity === '*') return { anyone: true, written: '*' };
    if (!identity.startsWith(X509_SUBJECT))
      throw new RuleValueError(at('trustedIdentities', index), `must start with "${X509_SUBJECT}" or be "*"`);
    try {
      return { name: parseDistinguishedName(identity.slice(X509_SUBJECT.length).trim()), written: identity };
    } catch (error) {
      if (error instanceof DistinguishedNameError)
        throw new RuleValueError(at('trustedIdentities', index), error.message);
      throw error;
    }
  });
  for (const [i, one] of identities.entries())
    for (const [j, other] of identities.entries())
      if (
        i < j &&
        'name' in one &&
        'name' in other &&
        (isSubsetName(one.name, other.name) || isSubsetName(other.name, one.name))
      )
        throw new RuleValueError(
          at('trustedIdentities', j),
          `overlaps ${one.written}: a certificate could match both`,
        );
  return {
    trustStore: pems(value.trustStore, at('trustStore')),
    identities,
    timestampAuthorities: pems(value.timestampAuthorities, at('timestampAuthorities')),
  };
}

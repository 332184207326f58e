import {
  CertificateTrust,
  SignatureTrust,
  TrustMaterialError,
  TrustedIdentity,
  TrustedKey,
  certificatesIn,
  readTrustedRoot,
  trustHash,
  trustedKey,
} from '../../verification';
import { JsonSchema, RuleCompileContext, RuleValueError } from './image-rule';

/** The keys or certificate identities a signature rule trusts, as the policy writes them. */
export interface SignatureTrustValue {
  keys?: string[];
  certificates?: {
    trustedRoot?: string;
    caFile?: string;
    identities: { issuer?: string; issuerRegExp?: string; subject?: string; subjectRegExp?: string }[];
    requireTransparencyLog?: boolean;
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

/** The schema of the trust part shared by verifySignatures and verifyAttestations. */
export const signatureTrustProperties: Record<string, JsonSchema> = {
  keys: {
    type: 'array',
    minItems: 1,
    description: 'PEM public keys (cosign.pub): a file path, or an inline PEM block.',
    items: { type: 'string', minLength: 1 },
  },
  certificates: {
    type: 'object',
    additionalProperties: false,
    required: ['identities'],
    description:
      'Keyless signatures: the signing certificate must chain to these roots and carry one of the identities. Nothing is fetched at admission time.',
    properties: {
      trustedRoot: {
        type: 'string',
        minLength: 1,
        description: 'A sigstore TrustedRoot JSON document (file).',
      },
      caFile: { type: 'string', minLength: 1, description: 'PEM CA certificates (file).' },
      identities: { type: 'array', minItems: 1, items: identitySchema },
      requireTransparencyLog: {
        type: 'boolean',
        default: false,
        description:
          "Count a signature only with a transparency-log inclusion proof that verifies offline against the trusted root's log keys.",
      },
    },
  },
};

export const signatureTrustOneOf: JsonSchema[] = [{ required: ['keys'] }, { required: ['certificates'] }];

function regExp(source: string | undefined, path: (string | number)[]): RegExp | undefined {
  if (source === undefined) return undefined;
  try {
    return new RegExp(source);
  } catch (error) {
    throw new RuleValueError(path, `is not a regular expression: ${(error as Error).message}`);
  }
}

/** Reads and checks a rule's keys or certificate roots now, so admission never reads a file. */
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
      if (error instanceof TrustMaterialError) throw new RuleValueError(at, error.message);
      throw error;
    }
  };
  const keys: TrustedKey[] = (value.keys ?? []).map((entry, index) => {
    const inline = entry.includes('-----BEGIN');
    const pem = inline ? entry : read(entry, ['keys', index]);
    return material(['keys', index], () => trustedKey(pem, inline ? 'inline key' : entry));
  });
  let certificates: CertificateTrust | undefined;
  if (value.certificates) {
    const { trustedRoot, caFile, identities, requireTransparencyLog } = value.certificates;
    if (trustedRoot === undefined && caFile === undefined)
      throw new RuleValueError(['certificates'], 'must name trustedRoot or caFile');
    const root = trustedRoot
      ? material(['certificates', 'trustedRoot'], () =>
          readTrustedRoot(read(trustedRoot, ['certificates', 'trustedRoot']), trustedRoot),
        )
      : { authorities: [], authorityValidFor: undefined, logs: [], ctLogs: [] };
    const authorities = [
      ...root.authorities,
      ...(caFile
        ? material(['certificates', 'caFile'], () =>
            certificatesIn(read(caFile, ['certificates', 'caFile']), caFile),
          )
        : []),
    ];
    if (authorities.length === 0)
      throw new RuleValueError(['certificates'], 'names no certificate authority');
    if (requireTransparencyLog && root.logs.length === 0)
      throw new RuleValueError(
        ['certificates', 'requireTransparencyLog'],
        'needs a trustedRoot with transparency-log keys to check inclusion proofs against',
      );
    certificates = {
      authorities,
      logs: root.logs,
      ctLogs: root.ctLogs,
      authorityValidFor: root.authorityValidFor,
      requireTransparencyLog: requireTransparencyLog ?? false,
      identities: identities.map((identity, index): TrustedIdentity => ({
        issuer: identity.issuer,
        issuerRegExp: regExp(identity.issuerRegExp, ['certificates', 'identities', index, 'issuerRegExp']),
        subject: identity.subject,
        subjectRegExp: regExp(identity.subjectRegExp, ['certificates', 'identities', index, 'subjectRegExp']),
      })),
    };
  }
  return { keys, certificates, hash: trustHash(keys, certificates) };
}

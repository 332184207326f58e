import {
  KeyUsageFlags,
  anyExtendedKeyUsage,
  id_kp_clientAuth,
  id_kp_emailProtection,
  id_kp_serverAuth,
  id_kp_timeStamping,
} from '@peculiar/asn1-x509';
import type { KeyObject, X509Certificate } from 'node:crypto';
import { asn1Certificate } from './certificate-transparency';
import type { NotationAlgorithm } from './notation-envelope';
import { ChecksSpent, MAX_CHAIN, TakeCheck, capabilitiesOf, issuedBy } from './signature-crypto';
import type { ChainProblem } from './verification-outcome';

// The Notary Project's certificate requirements, checked of the chain a signature carries, as
// notation-core-go's ValidateCodeSigningCertChain does: an ordered chain from the signing
// certificate to a self-signed root, each certificate issued by the next, the signing certificate
// fit to sign code and the others to issue certificates. Trust (a certificate of the chain in the
// trust store) and validity in time are judged beside it.
// https://github.com/notaryproject/specifications/blob/main/specs/signature-specification.md#certificate-requirements

/** Key usages a signing certificate must not have besides digitalSignature. */
const FORBIDDEN_LEAF_USAGES =
  KeyUsageFlags.keyEncipherment |
  KeyUsageFlags.dataEncipherment |
  KeyUsageFlags.keyAgreement |
  KeyUsageFlags.keyCertSign |
  KeyUsageFlags.cRLSign |
  KeyUsageFlags.encipherOnly |
  KeyUsageFlags.decipherOnly;

/** Extended key usages a code-signing certificate must not name. */
const FORBIDDEN_LEAF_EXTENDED_USAGES: ReadonlySet<string> = new Set([
  anyExtendedKeyUsage,
  id_kp_serverAuth,
  id_kp_clientAuth,
  id_kp_emailProtection,
  id_kp_timeStamping,
]);

const SHA1_SIGNATURES: ReadonlySet<string> = new Set(['1.2.840.113549.1.1.5', '1.2.840.10045.4.1']);

/** The algorithm the Notary Project assigns a signing key: by RSA modulus, or by curve. */
export function notationKeyAlgorithm(key: KeyObject): NotationAlgorithm | undefined {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa')
    return ({ 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' } as const)[details?.modulusLength ?? 0];
  if (key.asymmetricKeyType === 'ec')
    return ({ prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' } as const)[
      (details?.namedCurve ?? '') as 'prime256v1'
    ];
  return undefined;
}

const strongEnough = (key: KeyObject): boolean => {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return (details?.modulusLength ?? 0) >= 2048;
  return key.asymmetricKeyType === 'ec';
};

function leafProblem(leaf: X509Certificate, alone: boolean): ChainProblem | undefined {
  const capabilities = capabilitiesOf(leaf);
  if (!capabilities) return 'signing certificate';
  // A chain of one self-signed certificate: it is its own root, and must still be fit to sign.
  if (capabilities.ca && !alone) return 'signing certificate';
  if (capabilities.keyUsage === undefined || !capabilities.keyUsageCritical) return 'signing certificate';
  if ((capabilities.keyUsage & KeyUsageFlags.digitalSignature) === 0) return 'signing certificate';
  if ((capabilities.keyUsage & FORBIDDEN_LEAF_USAGES) !== 0) return 'signing certificate';
  if (capabilities.extendedUsages?.some((usage) => FORBIDDEN_LEAF_EXTENDED_USAGES.has(usage)))
    return 'signing certificate';
  return undefined;
}

function issuerProblem(issuer: X509Certificate, below: number): ChainProblem | undefined {
  const capabilities = capabilitiesOf(issuer);
  if (!capabilities?.ca || !capabilities.basicConstraintsCritical) return 'issuing certificate';
  if (capabilities.keyUsage === undefined || (capabilities.keyUsage & KeyUsageFlags.keyCertSign) === 0)
    return 'issuing certificate';
  if (capabilities.pathLength !== undefined && below > capabilities.pathLength) return 'path length';
  return undefined;
}

/**
 * Whether a certificate names itself as issuer and its own key verifies it. OpenSSL's
 * check_issued would also want keyCertSign, which a self-signed signing certificate (what `notation
 * cert generate-test` makes) does not have.
 */
function selfSigned(certificate: X509Certificate, takeCheck: TakeCheck): boolean {
  if (certificate.issuer !== certificate.subject) return false;
  if (!takeCheck()) throw new ChecksSpent();
  try {
    return certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

/**
 * Why a Notary Project signature's chain is not one, or undefined when it is; 'over budget' when
 * the verification's budget ran out first, each link checked (the root's own signature too) being
 * a signature check like any other.
 */
export function notationChainProblem(
  chain: readonly X509Certificate[],
  takeCheck: TakeCheck,
): ChainProblem | 'over budget' | undefined {
  if (chain.length > MAX_CHAIN) return 'too long';
  for (const certificate of chain) {
    if (!strongEnough(certificate.publicKey)) return 'weak key';
    const algorithm = asn1Certificate(certificate)?.signatureAlgorithm.algorithm;
    if (algorithm === undefined) return 'unreadable';
    if (SHA1_SIGNATURES.has(algorithm)) return 'sha1';
  }
  try {
    for (let i = 0; i + 1 < chain.length; i++)
      if (!issuedBy(chain[i], chain[i + 1], takeCheck)) return 'out of order';
    if (!selfSigned(chain[chain.length - 1], takeCheck)) return 'no root';
  } catch (error) {
    if (error instanceof ChecksSpent) return 'over budget';
    throw error;
  }
  const leaf = leafProblem(chain[0], chain.length === 1);
  if (leaf) return leaf;
  for (let i = 1; i < chain.length; i++) {
    const problem = issuerProblem(chain[i], i - 1);
    if (problem) return problem;
  }
  return undefined;
}

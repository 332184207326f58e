import { Injectable } from '@nestjs/common';
import { X509Certificate } from 'node:crypto';
import { BoundedTtlCache } from '../cache/bounded-ttl-cache';
import { DeadlineExceededError, InFlight, untilAborted } from '../cache/in-flight';
import {
  RegistryAccess,
  RegistryClient,
  RegistryDeadline,
  RegistryFailure,
  RegistryFailureReason,
} from '../registry';
import {
  CosignEvidenceReader,
  DsseEnvelope,
  Evidence,
  IN_TOTO_PAYLOAD_TYPE,
  parseEnvelope,
} from './cosign-evidence';
import {
  certificateProblem,
  describeIdentity,
  keyThatSigned,
  preAuthenticationEncoding,
  signatureVerifies,
} from './signature-crypto';
import { tlogProblem } from './transparency-log';
import { SignatureTrust } from './trust';

/** The predicate cosign's new bundle format gives a plain image signature. */
const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const SIMPLE_SIGNING_KIND = 'cosign container image signature';
const MAX_VERIFICATIONS = 10_000;

/** What a rule asks to be verified about an image's digest. */
export type VerificationRequest =
  | { readonly kind: 'signatures'; readonly trust: SignatureTrust }
  | { readonly kind: 'attestations'; readonly trust: SignatureTrust; readonly predicateType: string };

/** Why a digest did not verify, in the words a denial uses. */
export type VerificationReason = string;

/** One signature or attestation found, and what came of it. */
export interface EvidenceReport {
  readonly where: 'sig tag' | 'att tag' | 'sigstore bundle';
  /** The key or identity whose signature verified. */
  readonly verifiedBy?: string;
  /** Why it does not count. */
  readonly problem?: string;
  readonly predicateType?: string;
}

export interface VerificationResult {
  readonly verified: boolean;
  readonly reason?: VerificationReason;
  /** More about the reason, for logs and `explain`. */
  readonly detail?: string;
  readonly digest: string;
  readonly evidence: readonly EvidenceReport[];
  readonly cache: 'hit' | 'miss';
  readonly ms: number;
  /** A registry failure, as opposed to a verdict on what the registry holds. */
  readonly registryFailure?: RegistryFailureReason;
}

export interface VerificationTarget {
  readonly access: RegistryAccess;
  readonly repository: string;
  readonly digest: string;
  /** Part of every cache key: a policy edit never reuses a verdict of the policy before it. */
  readonly policyRevision: string;
  readonly successTtlMs: number;
  readonly failureTtlMs: number;
}

/** The reason a denial gives for a registry that failed while verifying. */
export function registryFailureReason(reason: RegistryFailureReason): VerificationReason {
  switch (reason) {
    case 'timed out':
      return 'registry timed out';
    case 'unreachable':
      return 'registry unreachable';
    case 'invalid response':
      return 'invalid registry response';
    default:
      return reason;
  }
}

type Verdict = Omit<VerificationResult, 'cache' | 'ms'>;

interface SignedStatement {
  readonly subjectDigests: readonly string[];
  readonly predicateType?: string;
}

/**
 * Verifies cosign signatures and in-toto attestations of one digest against a rule's trust
 * material. Everything from the registry is untrusted until a signature over it verifies: a
 * payload is read only once its signature checks, and must name this digest. Verdicts are cached
 * under the digest, the repository, the trust material and the policy revision: successes for
 * the policy's TTL, definite failures briefly (so a crash-looping controller does not hammer the
 * registry, while a freshly signed image passes within seconds), registry failures never.
 * Concurrent verifications of one key share the work.
 */
@Injectable()
export class ImageVerifier {
  private readonly verdicts = new BoundedTtlCache<string, Verdict>({
    name: 'verification',
    maxEntries: MAX_VERIFICATIONS,
  });
  private readonly running = new InFlight<string, Verdict>();
  private readonly reader: CosignEvidenceReader;

  constructor(client: RegistryClient) {
    this.reader = new CosignEvidenceReader(client);
    this.verdicts.onEvent((cache, event) => client.reportCacheEvent(cache, event));
  }

  async verify(
    target: VerificationTarget,
    request: VerificationRequest,
    deadline: RegistryDeadline,
  ): Promise<VerificationResult> {
    const started = Date.now();
    const key = [
      target.policyRevision,
      request.trust.hash,
      request.kind,
      request.kind === 'attestations' ? request.predicateType : '',
      target.access.registry,
      target.repository,
      target.digest,
    ].join('\n');
    const cached = this.verdicts.get(key);
    if (cached) return { ...cached, cache: 'hit', ms: Date.now() - started };
    let verdict: Verdict;
    try {
      verdict = await untilAborted(
        // Shared by every review verifying this now: it runs until the last of them stops waiting.
        this.running.joinUntil(key, deadline, async (shared) => {
          const found = await this.collect(target, request, shared);
          if (found.registryFailure === undefined)
            this.verdicts.set(key, found, found.verified ? target.successTtlMs : target.failureTtlMs);
          return found;
        }),
        deadline.signal,
      );
    } catch (error) {
      if (!(error instanceof DeadlineExceededError)) throw error;
      verdict = {
        verified: false,
        reason: 'registry timed out',
        detail: 'no answer within the review deadline',
        digest: target.digest,
        evidence: [],
        registryFailure: 'timed out',
      };
    }
    return { ...verdict, cache: 'miss', ms: Date.now() - started };
  }

  private async collect(
    target: VerificationTarget,
    request: VerificationRequest,
    deadline: RegistryDeadline,
  ): Promise<Verdict> {
    const { access, repository, digest } = target;
    let evidence: Evidence[];
    try {
      evidence =
        request.kind === 'signatures'
          ? await this.reader.signatures(access, repository, digest, deadline)
          : await this.reader.attestations(access, repository, digest, deadline);
    } catch (error) {
      const failure =
        error instanceof RegistryFailure
          ? error
          : deadline.signal.aborted
            ? new RegistryFailure('timed out', 'no answer within the review deadline')
            : new RegistryFailure('invalid response', error instanceof Error ? error.message : String(error));
      return {
        verified: false,
        reason: registryFailureReason(failure.reason),
        detail: failure.detail,
        digest,
        evidence: [],
        registryFailure: failure.reason,
      };
    }
    const reports = evidence.map((item) => judge(item, request, digest));
    return { ...conclude(reports, request), digest, evidence: reports };
  }
}

/** The verdict over everything found: verified by one piece of evidence, or the most telling reason. */
function conclude(
  reports: readonly EvidenceReport[],
  request: VerificationRequest,
): { verified: boolean; reason?: string; detail?: string } {
  const relevant = reports.filter((r) => r.problem !== IRRELEVANT);
  if (relevant.some((r) => r.verifiedBy !== undefined && r.problem === undefined)) return { verified: true };
  const detail = relevant.map((r) => `${r.where}: ${r.problem}`).join('; ') || undefined;
  const byKeys = request.trust.certificates === undefined;
  const lacksLogProof = (r: EvidenceReport): boolean => r.problem?.startsWith(NO_TLOG_PROOF) === true;
  if (request.kind === 'attestations') {
    const ofType = relevant.filter((r) => r.predicateType === request.predicateType);
    // The classic layout is refused before its type is read; a missing proof is the reason either way.
    if (ofType.some(lacksLogProof) || (ofType.length === 0 && relevant.some(lacksLogProof)))
      return { verified: false, reason: NO_TLOG_PROOF, detail };
    if (ofType.length === 0)
      return { verified: false, reason: `no attestation of type ${request.predicateType}`, detail };
    if (ofType.some((r) => r.problem === OTHER_DIGEST))
      return { verified: false, reason: 'attestation for another digest', detail };
    return {
      verified: false,
      reason: `no attestation of type ${request.predicateType} ${byKeys ? 'by a trusted key' : 'by a trusted identity'}`,
      detail,
    };
  }
  if (relevant.length === 0) return { verified: false, reason: 'no signature', detail };
  if (relevant.some((r) => r.problem === OTHER_DIGEST))
    return { verified: false, reason: 'signature for another digest', detail };
  // The classic layout's problem says why it carries none, after the reason itself.
  if (relevant.some(lacksLogProof)) return { verified: false, reason: NO_TLOG_PROOF, detail };
  return {
    verified: false,
    reason: byKeys ? 'no signature by a trusted key' : 'no signature by a trusted identity',
    detail,
  };
}

const OTHER_DIGEST = 'signed, but for another digest';
const NO_TLOG_PROOF = 'no transparency-log inclusion proof';
/** Evidence of the other kind (an attestation bundle met while looking for signatures). */
const IRRELEVANT = 'not of the kind asked for';

/** Who signed `data` with `signature`, among the trusted: a key, or a certificate identity. */
function signer(
  trust: SignatureTrust,
  data: Buffer,
  signatures: readonly Buffer[],
  certificate: X509Certificate | undefined,
  chain: readonly X509Certificate[],
  at: Date,
): { by: string } | { problem: string } {
  if (trust.certificates === undefined) {
    for (const signature of signatures) {
      const key = keyThatSigned(trust.keys, data, signature);
      if (key) return { by: `key ${key.fingerprint} (${key.source})` };
    }
    return { problem: 'not signed by a trusted key' };
  }
  if (!certificate) return { problem: 'no signing certificate' };
  const problem = certificateProblem(certificate, chain, trust.certificates, at);
  if (problem) return { problem };
  return signatures.some((s) => signatureVerifies(certificate.publicKey, data, s))
    ? { by: describeIdentity(certificate) }
    : { problem: "the signature does not verify with the certificate's key" };
}

/** The in-toto statement a verified DSSE payload holds. */
function statementOf(payload: Buffer): SignedStatement | undefined {
  try {
    const statement = JSON.parse(payload.toString('utf8')) as {
      predicateType?: unknown;
      subject?: { digest?: { sha256?: unknown } }[];
    };
    return {
      predicateType: typeof statement.predicateType === 'string' ? statement.predicateType : undefined,
      subjectDigests: (Array.isArray(statement.subject) ? statement.subject : []).flatMap((s) =>
        typeof s?.digest?.sha256 === 'string' ? [`sha256:${s.digest.sha256}`] : [],
      ),
    };
  } catch {
    return undefined;
  }
}

function judgeEnvelope(
  where: EvidenceReport['where'],
  envelope: DsseEnvelope,
  request: VerificationRequest,
  digest: string,
  signedBy: (data: Buffer, signatures: Buffer[]) => { by: string } | { problem: string },
): EvidenceReport {
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
    return { where, problem: `payload type ${envelope.payloadType} is not an in-toto statement` };
  const payload = Buffer.from(envelope.payload, 'base64');
  // Untrusted until verified, but the claimed type decides whether it is what the rule asks about.
  const claimed = statementOf(payload);
  const wanted = request.kind === 'signatures' ? COSIGN_SIGN_PREDICATE : request.predicateType;
  if (request.kind === 'signatures' && claimed?.predicateType !== COSIGN_SIGN_PREDICATE)
    return { where, problem: IRRELEVANT };
  const signatures = envelope.signatures.map((s) => Buffer.from(s.sig ?? '', 'base64'));
  const outcome = signedBy(preAuthenticationEncoding(envelope.payloadType, payload), signatures);
  const predicateType = claimed?.predicateType;
  if ('problem' in outcome) return { where, problem: outcome.problem, predicateType };
  if (!claimed) return { where, problem: 'the signed payload is not an in-toto statement', predicateType };
  if (!claimed.subjectDigests.includes(digest))
    return { where, verifiedBy: outcome.by, problem: OTHER_DIGEST, predicateType };
  if (claimed.predicateType !== wanted)
    return {
      where,
      verifiedBy: outcome.by,
      problem: `predicate type ${String(claimed.predicateType)}`,
      predicateType,
    };
  return { where, verifiedBy: outcome.by, predicateType };
}

/** What one piece of evidence proves about `digest`, for this request. */
function judge(evidence: Evidence, request: VerificationRequest, digest: string): EvidenceReport {
  if ('unreadable' in evidence) return { where: evidence.where, problem: evidence.unreadable };
  const { trust } = request;
  const now = new Date();
  switch (evidence.where) {
    case 'sig tag': {
      if (request.kind !== 'signatures') return { where: evidence.where, problem: IRRELEVANT };
      if (trust.certificates?.requireTransparencyLog)
        return { where: evidence.where, problem: `${NO_TLOG_PROOF} (cosign's classic layout carries none)` };
      const outcome = signer(
        trust,
        evidence.payload,
        [evidence.signature],
        evidence.certificate,
        evidence.chain,
        now,
      );
      if ('problem' in outcome) return { where: evidence.where, problem: outcome.problem };
      // Only now is the payload believed, and it must name this digest: a copied .sig does not count.
      let critical: { image?: { 'docker-manifest-digest'?: unknown }; type?: unknown } | undefined;
      try {
        critical = (JSON.parse(evidence.payload.toString('utf8')) as { critical?: typeof critical }).critical;
      } catch {
        return { where: evidence.where, verifiedBy: outcome.by, problem: 'the signed payload is not JSON' };
      }
      if (critical?.type !== SIMPLE_SIGNING_KIND)
        return {
          where: evidence.where,
          verifiedBy: outcome.by,
          problem: 'the signed payload is not a cosign image signature',
        };
      if (critical.image?.['docker-manifest-digest'] !== digest)
        return { where: evidence.where, verifiedBy: outcome.by, problem: OTHER_DIGEST };
      return { where: evidence.where, verifiedBy: outcome.by };
    }
    case 'att tag': {
      if (request.kind !== 'attestations') return { where: evidence.where, problem: IRRELEVANT };
      if (trust.certificates?.requireTransparencyLog)
        return { where: evidence.where, problem: `${NO_TLOG_PROOF} (cosign's classic layout carries none)` };
      return judgeEnvelope(evidence.where, evidence.envelope, request, digest, (data, signatures) =>
        signer(trust, data, signatures, evidence.certificate, evidence.chain, now),
      );
    }
    case 'sigstore bundle': {
      const { bundle } = evidence;
      const envelope = bundle.dsseEnvelope
        ? parseEnvelope(bundle.dsseEnvelope)
        : 'a bundle without a DSSE envelope';
      if (typeof envelope === 'string') return { where: evidence.where, problem: envelope };
      const material = bundle.verificationMaterial ?? {};
      const rawCertificates = [
        ...(material.certificate?.rawBytes ? [material.certificate.rawBytes] : []),
        ...(material.x509CertificateChain?.certificates ?? []).flatMap((c) =>
          c.rawBytes ? [c.rawBytes] : [],
        ),
      ];
      let certificates: X509Certificate[];
      try {
        certificates = rawCertificates.map((raw) => new X509Certificate(Buffer.from(raw, 'base64')));
      } catch {
        return { where: evidence.where, problem: 'a certificate in the bundle cannot be read' };
      }
      return judgeEnvelope(evidence.where, envelope, request, digest, (data, signatures) => {
        let at = now;
        if (trust.certificates?.requireTransparencyLog) {
          const entries = material.tlogEntries ?? [];
          if (entries.length === 0) return { problem: NO_TLOG_PROOF };
          const checked = entries.map((entry) =>
            tlogProblem(
              entry,
              { payload: Buffer.from(envelope.payload, 'base64'), signatures },
              trust.certificates!.logs,
            ),
          );
          const proven = checked.find((c): c is { integratedAt?: Date } => !('problem' in c));
          if (!proven) return { problem: (checked[0] as { problem: string }).problem };
          // A short-lived signing certificate is judged at the time the log signed it recorded the signature.
          at = proven.integratedAt ?? now;
        }
        return signer(trust, data, signatures, certificates[0], certificates.slice(1), at);
      });
    }
  }
}

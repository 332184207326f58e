import { KeyObject, createHash } from 'node:crypto';
import type { VerificationRequest } from './image-verifier.service';
import type {
  Artifact,
  CandidateSignature,
  Discard,
  EnvelopeArtifact,
  SimpleSigningArtifact,
} from './evidence';
import { discard } from './evidence';
import { isObject, parseJson } from './evidence-parser';
import {
  CHAIN_CHECKS_OVER_BUDGET,
  certificateProblem,
  preAuthenticationEncoding,
  signatureVerifies,
} from './signature-crypto';
import { fitsKey, keysInOrder } from './signature-shape';
import { SignatureCheck, TlogProblem, tlogOutcome } from './transparency-log';
import { VerificationBudget, MAX_STATEMENT_SUBJECTS } from './verification-budgets';
import type { EvidenceProblem, Judgement, Signer, VerificationOutcome } from './verification-outcome';

// Judging validated evidence, always in one order: is it the kind asked for, is it logged (when the
// rule requires it), who signed it, and only then what its payload claims. Each step answers with a
// code; nothing here reads the registry, and every signature check is paid from the budget.

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The predicate cosign's new bundle format gives a plain image signature. */
const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const SIMPLE_SIGNING_KIND = 'cosign container image signature';

/** The judgements of a digest's artifacts, what the budget left unchecked, and whether time ran out. */
export interface Judged {
  readonly judgements: readonly Judgement[];
  readonly discarded: readonly Discard[];
  readonly timedOut: boolean;
}

/**
 * Judges each artifact in turn, giving the event loop back between them (and every few signature
 * checks inside one), and stops once the deadline has passed.
 */
export async function judgeArtifacts(
  artifacts: readonly Artifact[],
  request: VerificationRequest,
  digest: string,
  budget: VerificationBudget,
): Promise<Judged> {
  const judgements: Judgement[] = [];
  const discarded: Discard[] = [];
  for (const [index, artifact] of artifacts.entries()) {
    if (index > 0 && !(await budget.nextTurn())) return { judgements, discarded, timedOut: true };
    const judge = new ArtifactJudge(artifact, request, digest, budget);
    judgements.push(await judge.judge());
    if (judge.unchecked > 0)
      discarded.push(
        discard(artifact.source, 'signature checks over budget', 'over budget', { count: judge.unchecked }),
      );
  }
  return { judgements, discarded, timedOut: budget.stoppedAtDeadline };
}

/** The claims a DSSE payload makes, read before it is believed only to tell what kind it is. */
interface Statement {
  readonly predicateType?: unknown;
  readonly subjectDigests: readonly string[];
}

/** An in-toto statement's predicate type and sha256 subjects, at most MAX_STATEMENT_SUBJECTS of them. */
function statementOf(payload: Buffer): Statement | undefined {
  const statement = parseJson(payload);
  if (!isObject(statement)) return undefined;
  const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
  return {
    predicateType: statement.predicateType,
    subjectDigests: subjects.slice(0, MAX_STATEMENT_SUBJECTS).flatMap((subject) => {
      const digests = isObject(subject) && isObject(subject.digest) ? subject.digest : undefined;
      return typeof digests?.sha256 === 'string' ? [`sha256:${digests.sha256}`] : [];
    }),
  };
}

type SignedBy = Signer | EvidenceProblem;

/** One artifact's judgement; the payload's hash and DSSE encoding are made at most once. */
class ArtifactJudge {
  /** Signatures left untried because the budget ran out. */
  unchecked = 0;
  private encoded?: Buffer;
  private payloadHash?: string;

  constructor(
    private readonly artifact: Artifact,
    private readonly request: VerificationRequest,
    private readonly digest: string,
    private readonly budget: VerificationBudget,
  ) {}

  async judge(): Promise<Judgement> {
    const { artifact, request } = this;
    const source = artifact.source;
    const problem = (p: EvidenceProblem, extra: Partial<Judgement> = {}): Judgement => ({
      source,
      ...extra,
      problem: p,
    });
    switch (artifact.kind) {
      case 'no envelope':
        return problem({ code: 'no envelope' });
      case 'simple signing': {
        if (request.kind !== 'signatures') return problem({ code: 'not asked for' });
        if (request.trust.certificates?.requireTransparencyLog)
          return problem({ code: 'no tlog proof', classicLayout: true });
        const signer = await this.signer(artifact, artifact.payload, new Date());
        if (!isSigner(signer)) return problem(signer);
        return { source, signer, ...this.simpleSigningClaims(artifact) };
      }
      case 'dsse': {
        if (source === 'att tag') {
          if (request.kind !== 'attestations') return problem({ code: 'not asked for' });
          if (request.trust.certificates?.requireTransparencyLog)
            return problem({ code: 'no tlog proof', classicLayout: true });
        }
        return this.judgeEnvelope(artifact);
      }
    }
  }

  private simpleSigningClaims(artifact: SimpleSigningArtifact): { problem?: EvidenceProblem } {
    // Only now is the payload believed, and it must name this digest: a copied .sig does not count.
    const payload = parseJson(artifact.payload);
    if (payload === undefined) return { problem: { code: 'payload not JSON' } };
    const critical = isObject(payload) && isObject(payload.critical) ? payload.critical : undefined;
    if (critical?.type !== SIMPLE_SIGNING_KIND) return { problem: { code: 'not a cosign signature' } };
    // The docker-reference beside it is not compared with the image's repository, as cosign does
    // not: an image copied elsewhere keeps its signatures, and the digest is what was signed.
    const image = isObject(critical.image) ? critical.image : undefined;
    if (image?.['docker-manifest-digest'] !== this.digest) return { problem: { code: 'other digest' } };
    return {};
  }

  private async judgeEnvelope(envelope: EnvelopeArtifact): Promise<Judgement> {
    const { request, digest } = this;
    const source = envelope.source;
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE)
      return { source, problem: { code: 'payload type', payloadType: envelope.payloadType } };
    // Untrusted until verified, but the claimed type decides whether it is what the rule asks about.
    const claimed = statementOf(envelope.payload);
    if (request.kind === 'signatures' && claimed?.predicateType !== COSIGN_SIGN_PREDICATE)
      return { source, problem: { code: 'not asked for' } };
    const predicateType = typeof claimed?.predicateType === 'string' ? claimed.predicateType : undefined;
    const withType = (judgement: Omit<Judgement, 'source'>): Judgement => ({
      source,
      ...judgement,
      predicateType,
    });
    let at = new Date();
    if (source === 'sigstore bundle' && request.trust.certificates?.requireTransparencyLog) {
      const logged = await this.logged(envelope);
      if ('problem' in logged) return withType({ problem: logged.problem });
      // A short-lived signing certificate is judged at the time the log signed it recorded the signature.
      at = logged.integratedAt ?? at;
    }
    if (source === 'sigstore bundle' && envelope.writtenSignatures !== 1)
      return withType({ problem: { code: 'not one signature', count: envelope.writtenSignatures } });
    const signer = await this.signer(envelope, this.preAuthenticationEncoding(envelope), at);
    if (!isSigner(signer)) return withType({ problem: signer });
    if (!claimed) return withType({ signer, problem: { code: 'not a statement' } });
    if (!claimed.subjectDigests.includes(digest))
      return withType({ signer, problem: { code: 'other digest' } });
    const wanted = request.kind === 'signatures' ? COSIGN_SIGN_PREDICATE : request.predicateType;
    if (claimed.predicateType !== wanted)
      return withType({ signer, problem: { code: 'predicate type', predicateType } });
    return withType({ signer });
  }

  /** The first of the bundle's log entries that proves it, or the first entry's problem. */
  private async logged(
    envelope: EnvelopeArtifact,
  ): Promise<{ problem: EvidenceProblem } | { integratedAt?: Date }> {
    const logs = this.request.trust.certificates!.logs;
    if (envelope.tlogEntries.length === 0)
      return { problem: { code: 'no tlog proof', classicLayout: false } };
    this.payloadHash ??= createHash('sha256').update(envelope.payload).digest('hex');
    const logged = { payloadSha256: this.payloadHash, signatures: envelope.signatures.map((s) => s.bytes) };
    let first: TlogProblem | undefined;
    for (const entry of envelope.tlogEntries) {
      const outcome = tlogOutcome(entry, logged, logs, this.check);
      if (!('problem' in outcome)) return outcome;
      first ??= outcome.problem;
      if (outcome.problem.code === 'over budget') {
        // None of the envelope's signatures will be checked now.
        this.unchecked = envelope.signatures.length;
        break;
      }
      if (!(await this.budget.pace())) return { problem: { code: 'unchecked' } };
    }
    return { problem: { code: 'tlog', problem: first! } };
  }

  /** One check of a certificate's signature in a chain, paid from the same budget. */
  private readonly takeCheck = (): boolean => this.budget.takeCheck();

  /** One signature check, paid from the budget. */
  private readonly check: SignatureCheck = (key, data, signature) =>
    this.budget.takeCheck() ? signatureVerifies(key, data, signature) : 'over budget';

  private preAuthenticationEncoding(envelope: EnvelopeArtifact): Buffer {
    this.encoded ??= preAuthenticationEncoding(envelope.payloadType, envelope.payload);
    return this.encoded;
  }

  /**
   * Who among the trusted signed `data`: each signature is tried against the key it names first,
   * then the others, and the first that verifies ends the search. A signature not of a key's form is
   * never handed to OpenSSL for that key. A certificate is judged (chain, identity, validity at `at`)
   * before its key is tried.
   */
  private async signer(
    artifact: SimpleSigningArtifact | EnvelopeArtifact,
    data: Buffer,
    at: Date,
  ): Promise<SignedBy> {
    const { trust } = this.request;
    const { signatures, signer: material } = artifact;
    if (trust.certificates === undefined) {
      for (const [index, signature] of signatures.entries()) {
        for (const trusted of keysInOrder(trust.keys, signature.keyHint ?? material.keyHint)) {
          const verified = await this.tried(trusted.key, data, signature, signatures.length - index);
          if (verified === 'over budget') return { code: 'unchecked' };
          if (verified) return { key: trusted };
        }
      }
      return { code: 'untrusted key' };
    }
    const { certificate } = material;
    if (!certificate) return { code: 'no certificate' };
    const problem = certificateProblem(certificate, material.chain, trust.certificates, at, this.takeCheck);
    if (problem === CHAIN_CHECKS_OVER_BUDGET) {
      this.unchecked = signatures.length;
      return { code: 'unchecked' };
    }
    if (problem) return { code: 'certificate', detail: problem };
    const key = certificate.publicKey;
    for (const [index, signature] of signatures.entries()) {
      const verified = await this.tried(key, data, signature, signatures.length - index);
      if (verified === 'over budget') return { code: 'unchecked' };
      if (verified) return { certificate };
    }
    return { code: 'certificate key' };
  }

  /** One signature against one key, if it has the key's form and the budget allows. */
  private async tried(
    key: KeyObject,
    data: Buffer,
    signature: CandidateSignature,
    left: number,
  ): Promise<boolean | 'over budget'> {
    if (!fitsKey(key, signature.bytes)) return false;
    const verified = this.check(key, data, signature.bytes);
    if (verified === 'over budget' || (!verified && !(await this.budget.pace()))) {
      this.unchecked = left;
      return 'over budget';
    }
    return verified;
  }
}

const isSigner = (value: SignedBy): value is Signer => 'key' in value || 'certificate' in value;

/** The verdict over every judgement: verified by one of them, or the most telling reason. */
export function conclude(
  judgements: readonly Judgement[],
  request: VerificationRequest,
): VerificationOutcome {
  const relevant = judgements.filter((j) => j.problem?.code !== 'not asked for');
  if (relevant.some((j) => j.signer !== undefined && j.problem === undefined)) return { code: 'verified' };
  const signers = request.trust.certificates === undefined ? 'keys' : 'identities';
  const lacksLogProof = (j: Judgement): boolean => j.problem?.code === 'no tlog proof';
  const otherDigest = (j: Judgement): boolean => j.problem?.code === 'other digest';
  if (request.kind === 'attestations') {
    const { predicateType } = request;
    const ofType = relevant.filter((j) => j.predicateType === predicateType);
    // The classic layout is refused before its type is read; a missing proof is the reason either way.
    if (ofType.some(lacksLogProof) || (ofType.length === 0 && relevant.some(lacksLogProof)))
      return { code: 'no tlog proof' };
    if (ofType.length === 0) return { code: 'no attestation', predicateType };
    if (ofType.some(otherDigest)) return { code: 'attestation for another digest' };
    return { code: 'no trusted attestation', predicateType, signers };
  }
  if (relevant.length === 0) return { code: 'no signature' };
  if (relevant.some(otherDigest)) return { code: 'signature for another digest' };
  // The classic layout's problem says why it carries none, after the reason itself.
  if (relevant.some(lacksLogProof)) return { code: 'no tlog proof' };
  return { code: 'no trusted signature', signers };
}

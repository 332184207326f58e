import { KeyObject, X509Certificate, createHash } from 'node:crypto';
import type { VerificationRequest } from './image-verifier.service';
import type {
  Artifact,
  CandidateSignature,
  Discard,
  EnvelopeArtifact,
  NotationArtifact,
  SimpleSigningArtifact,
  TimestampBytes,
} from './evidence';
import { discard } from './evidence';
import { TIMESTAMP_CAUSE, isObject, parseJson } from './evidence-parser';
import { notationChainProblem, notationKeyAlgorithm } from './notation-chain';
import {
  AUTHENTIC_SIGNING_TIME,
  EXPIRY,
  NOTARY_PAYLOAD_TYPE,
  NOTATION_ALGORITHMS,
  SIGNING_SCHEME,
} from './notation-envelope';
import { isSubsetName, nameText, subjectName } from './notation-identity';
import { VerifiedTimestamp, signedTimestampOf, timestampOutcome } from './rfc3161-timestamp';
import {
  CHAIN_CHECKS_OVER_BUDGET,
  SignatureScheme,
  certificateIdentity,
  certificateProblem,
  matchedIdentities,
  preAuthenticationEncoding,
  signatureVerifies,
} from './signature-crypto';
import { fitsKey, keysInOrder } from './signature-shape';
import { SignatureCheck, TlogProblem, tlogOutcome } from './transparency-log';
import type { NotationTrust } from './trust';
import { MAX_STATEMENT_SUBJECTS, VerificationBudget } from './verification-budgets';
import type {
  EvidenceProblem,
  Judgement,
  NotationProblem,
  Signer,
  TimestampJudgement,
  VerificationOutcome,
} from './verification-outcome';

// Judging validated evidence, always in one order: is it the kind asked for, is it logged (when the
// rule requires it), when was it signed (the timestamps that verify), who signed it, and only then
// what its payload claims. Each step answers with a code; nothing here reads the registry, and
// every signature check is paid from the budget.

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** The predicate cosign's new bundle format gives a plain image signature. */
const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1';
const SIMPLE_SIGNING_KIND = 'cosign container image signature';
const NOTARY_X509 = 'notary.x509';
/** The critical headers the `notary.x509` scheme defines; any other marked critical is refused. */
const UNDERSTOOD_CRITICAL: ReadonlySet<string> = new Set([SIGNING_SCHEME, EXPIRY]);

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
    discarded.push(...judge.discarded);
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
  /** The whole statement: handed on only once a trusted signature over it verified. */
  readonly json: Readonly<Record<string, unknown>>;
}

/** An in-toto statement's predicate type and sha256 subjects, at most MAX_STATEMENT_SUBJECTS of them. */
function statementOf(payload: Buffer): Statement | undefined {
  const statement = parseJson(payload);
  if (!isObject(statement)) return undefined;
  const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
  return {
    json: statement,
    predicateType: statement.predicateType,
    subjectDigests: subjects.slice(0, MAX_STATEMENT_SUBJECTS).flatMap((subject) => {
      const digests = isObject(subject) && isObject(subject.digest) ? subject.digest : undefined;
      return typeof digests?.sha256 === 'string' ? [`sha256:${digests.sha256}`] : [];
    }),
  };
}

/**
 * A signer as thresholds count it: its id, every name it goes by (signers sharing one are one), and
 * the rule's trusted keys or identities it stands for.
 */
export interface SignerTally {
  readonly id: string;
  readonly names: readonly string[];
  readonly entries: readonly string[];
}

/** A trusted signer, with who it is and the trusted keys or identities it stands for. */
interface Signed {
  readonly signer: Signer;
  readonly signerId: string;
  readonly entries: readonly string[];
}

/**
 * What the search for a trusted signer found: one, one whose signature counts only with a signed
 * time it does not have, or why none.
 */
type SignedBy =
  | { readonly found: 'signer'; readonly signed: Signed }
  | { readonly found: 'signer without a time'; readonly signed: Signed }
  | { readonly found: 'nobody'; readonly problem: EvidenceProblem };

const signerFields = (signed: Signed): Pick<Judgement, 'signer' | 'signerId' | 'entries'> => ({
  signer: signed.signer,
  signerId: signed.signerId,
  entries: signed.entries,
});

/** A judgement's fields for what the search found; `problem` only where it found no counting signer. */
function signedFields(by: SignedBy): Omit<Judgement, 'source'> {
  switch (by.found) {
    case 'signer':
      return signerFields(by.signed);
    case 'signer without a time':
      return { ...signerFields(by.signed), problem: { code: 'no verified timestamp' } };
    case 'nobody':
      return { problem: by.problem };
  }
}

/** When a signature was made, as far as the verified timestamps (and a log's signed entry timestamp) say. */
interface SignedTimes {
  readonly times: readonly Date[];
  readonly timestamps: readonly TimestampJudgement[];
}

/** One artifact's judgement; the payload's hash and DSSE encoding are made at most once. */
class ArtifactJudge {
  /** Signatures left untried because the budget ran out. */
  unchecked = 0;
  /** What judging found did not fit its shape after all: a timestamp read only now. */
  readonly discarded: Discard[] = [];
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
      case 'notation':
        if (request.kind !== 'signatures' || !request.trust.notation)
          return problem({ code: 'not asked for' });
        return this.judgeNotation(artifact, request.trust.notation);
      case 'simple signing': {
        if (request.kind !== 'signatures' || !this.trustsCosign) return problem({ code: 'not asked for' });
        if (request.trust.certificates?.requireTransparencyLog)
          return problem({ code: 'no tlog proof', classicLayout: true });
        const times = await this.signedTimes(artifact.signer.timestamps, artifact.stamped);
        const by = await this.signer(artifact, artifact.payload, times.times);
        const stamps = times.timestamps.length > 0 ? { timestamps: times.timestamps } : {};
        if (by.found !== 'signer') return { source, ...stamps, ...signedFields(by) };
        return { source, ...stamps, ...signedFields(by), ...this.simpleSigningClaims(artifact) };
      }
      case 'dsse': {
        if (!this.trustsCosign) return problem({ code: 'not asked for' });
        if (source === 'att tag') {
          if (request.kind !== 'attestations') return problem({ code: 'not asked for' });
          if (request.trust.certificates?.requireTransparencyLog)
            return problem({ code: 'no tlog proof', classicLayout: true });
        }
        return this.judgeEnvelope(artifact);
      }
    }
  }

  /** Whether the rule trusts anyone who signs with cosign: keys, or certificate identities. */
  private get trustsCosign(): boolean {
    const { trust } = this.request;
    return trust.keys.length > 0 || trust.certificates !== undefined;
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
    let timestamps: readonly TimestampJudgement[] = [];
    const withType = (judgement: Omit<Judgement, 'source'>): Judgement => ({
      source,
      ...judgement,
      predicateType,
      ...(timestamps.length > 0 ? { timestamps } : {}),
    });
    const certificates = request.trust.certificates;
    let integratedAt: Date | undefined;
    if (source === 'sigstore bundle' && certificates?.requireTransparencyLog) {
      const logged = await this.logged(envelope);
      if ('problem' in logged) return withType({ problem: logged.problem });
      // A short-lived signing certificate is judged at the time the log signed it recorded the signature.
      integratedAt = logged.integratedAt;
    } else if (source === 'sigstore bundle' && certificates && certificates.logs.length > 0) {
      // Not required, but a log's signed entry timestamp is a signed time all the same.
      const logged = await this.logged(envelope);
      if (!('problem' in logged)) integratedAt = logged.integratedAt;
    }
    if (source === 'sigstore bundle' && envelope.writtenSignatures !== 1)
      return withType({ problem: { code: 'not one signature', count: envelope.writtenSignatures } });
    const stamped = await this.signedTimes(envelope.signer.timestamps, envelope.stamped);
    timestamps = stamped.timestamps;
    const times = integratedAt ? [...stamped.times, integratedAt] : stamped.times;
    const by = await this.signer(envelope, this.preAuthenticationEncoding(envelope), times);
    if (by.found !== 'signer') return withType(signedFields(by));
    const signer = signerFields(by.signed);
    if (!claimed) return withType({ ...signer, problem: { code: 'not a statement' } });
    if (!claimed.subjectDigests.includes(digest))
      return withType({ ...signer, problem: { code: 'other digest' } });
    const wanted = request.kind === 'signatures' ? COSIGN_SIGN_PREDICATE : request.predicateType;
    if (claimed.predicateType !== wanted)
      return withType({ ...signer, problem: { code: 'predicate type', predicateType } });
    return withType({ ...signer, statement: { json: claimed.json, bytes: envelope.payload.length } });
  }

  /** The first of the bundle's log entries that proves it, or the first entry's problem. */
  private async logged(
    envelope: EnvelopeArtifact,
  ): Promise<{ problem: EvidenceProblem } | { integratedAt?: Date }> {
    const logs = this.request.trust.certificates!.logs;
    if (envelope.tlogEntries.length === 0)
      return { problem: { code: 'no tlog proof', classicLayout: false } };
    this.payloadHash ??= createHash('sha256').update(envelope.payload).digest('hex');
    const { certificate } = envelope.signer;
    const logged = {
      payloadSha256: this.payloadHash,
      signatures: envelope.signatures.map((s) => s.bytes),
      ...(certificate ? { certificate } : {}),
      keys: this.request.trust.keys.map((trusted) => trusted.key),
    };
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

  /**
   * Every timestamp judged against the rule's timestamp authorities, and the times of those that
   * verify. A timestamp that does not verify is passed over, as sigstore-go passes over one it
   * cannot verify; it never stands in for one that does.
   */
  private async signedTimes(
    timestamps: readonly TimestampBytes[],
    stamped: Buffer,
    authorities = this.request.trust.timestamps,
    options: { requireSigningCertificate?: boolean } = {},
  ): Promise<SignedTimes & { readonly verified: readonly VerifiedTimestamp[] }> {
    const judged: TimestampJudgement[] = [];
    const verified: VerifiedTimestamp[] = [];
    // A rule that trusts no TSA learns nothing from a timestamp: it is not even read.
    if (!authorities)
      return {
        times: [],
        verified: [],
        timestamps: timestamps.map(() => ({
          problem: { code: 'untrusted authority', detail: 'the rule trusts no timestamp authority' },
        })),
      };
    for (const der of timestamps) {
      // Reading one costs about a signature check, and is paid as one.
      if (!this.budget.takeCheck()) {
        judged.push({ problem: { code: 'over budget' } });
        break;
      }
      const timestamp = signedTimestampOf(der);
      if (typeof timestamp === 'string') {
        this.discarded.push(discard(this.artifact.source, 'malformed timestamp', TIMESTAMP_CAUSE[timestamp]));
        if (!(await this.budget.pace())) break;
        continue;
      }
      const outcome = timestampOutcome(timestamp, stamped, authorities, this.check, {
        ...options,
        takeCheck: this.takeCheck,
      });
      judged.push('problem' in outcome ? { problem: outcome.problem } : { verified: outcome });
      if (!('problem' in outcome)) verified.push(outcome);
      else if (outcome.problem.code === 'over budget' || !(await this.budget.pace())) break;
    }
    return { times: verified.map((v) => v.time), timestamps: judged, verified };
  }

  /** One check of a certificate's signature in a chain, paid from the same budget. */
  private readonly takeCheck = (): boolean => this.budget.takeCheck();

  /** One signature check, paid from the budget. */
  private readonly check: SignatureCheck = (key, data, signature, scheme) =>
    this.budget.takeCheck() ? signatureVerifies(key, data, signature, scheme) : 'over budget';

  private preAuthenticationEncoding(envelope: EnvelopeArtifact): Buffer {
    this.encoded ??= preAuthenticationEncoding(envelope.payloadType, envelope.payload);
    return this.encoded;
  }

  /**
   * Who among the trusted signed `data`: each signature is tried against the key it names first,
   * then the others, and the first that verifies ends the search. A signature not of a key's form is
   * never handed to OpenSSL for that key. A certificate is judged (chain, identity, validity at each
   * verified signed time, or now when there is none) before its key is tried. A rule that wants a
   * signed time refuses a trusted signature without one.
   */
  private async signer(
    artifact: SimpleSigningArtifact | EnvelopeArtifact,
    data: Buffer,
    times: readonly Date[],
  ): Promise<SignedBy> {
    const { trust } = this.request;
    const { signatures, signer: material } = artifact;
    const untimed = trust.timestamps?.required === true && times.length === 0;
    const withTime = (signed: Signed): SignedBy =>
      untimed ? { found: 'signer without a time', signed } : { found: 'signer', signed };
    const nobody = (problem: EvidenceProblem): SignedBy => ({ found: 'nobody', problem });
    const { certificate } = material;
    if (trust.certificates === undefined || (!certificate && trust.keys.length > 0)) {
      for (const [index, signature] of signatures.entries()) {
        for (const trusted of keysInOrder(trust.keys, signature.keyHint ?? material.keyHint)) {
          const verified = await this.tried(trusted.key, data, signature, signatures.length - index);
          if (verified === 'over budget') return nobody({ code: 'unchecked' });
          if (verified) {
            const id = `key ${trust.keys.indexOf(trusted)}`;
            return withTime({ signer: { key: trusted }, signerId: id, entries: [id] });
          }
        }
      }
      return nobody({ code: 'untrusted key' });
    }
    if (!certificate) return nobody({ code: 'no certificate' });
    // Without a signed time where one is required, the certificate is still judged (at its own
    // start) so that the reason says what is missing, but it never counts.
    const at = times.length > 0 ? times : [untimed ? new Date(certificate.validFrom) : new Date()];
    for (const time of at) {
      const problem = certificateProblem(
        certificate,
        material.chain,
        trust.certificates,
        time,
        this.takeCheck,
      );
      if (problem === CHAIN_CHECKS_OVER_BUDGET) {
        this.unchecked = signatures.length;
        return nobody({ code: 'unchecked' });
      }
      if (problem) return nobody({ code: 'certificate', detail: problem });
    }
    const key = certificate.publicKey;
    for (const [index, signature] of signatures.entries()) {
      const verified = await this.tried(key, data, signature, signatures.length - index);
      if (verified === 'over budget') return nobody({ code: 'unchecked' });
      if (verified) {
        const identity = certificateIdentity(certificate);
        return withTime({
          signer: { certificate },
          signerId: `certificate ${identity.issuer ?? ''} ${[...identity.subjects].sort().join(' ')}`,
          entries: matchedIdentities(certificate, trust.certificates.identities).map((i) => `identity ${i}`),
        });
      }
    }
    return nobody({ code: 'certificate key' });
  }

  /** One signature against one key, if it has the key's form and the budget allows. */
  private async tried(
    key: KeyObject,
    data: Buffer,
    signature: CandidateSignature,
    left: number,
    scheme?: SignatureScheme,
  ): Promise<boolean | 'over budget'> {
    if (!fitsKey(key, signature.bytes, scheme?.encoding)) return false;
    const verified = this.check(key, data, signature.bytes, scheme);
    if (verified === 'over budget' || (!verified && !(await this.budget.pace()))) {
      this.unchecked = left;
      return 'over budget';
    }
    return verified;
  }

  /**
   * A Notary Project signature, as notation verifies one at its `strict` level (revocation aside):
   * integrity (the headers the `notary.x509` scheme defines, nothing critical it does not, the
   * algorithm the signing key has, the signature), authenticity (the chain, a certificate of it
   * in the trust store, a trusted identity), the authentic timestamp when TSAs are trusted (a
   * countersignature whose time, with its accuracy, lies within every certificate's validity;
   * without TSAs, the chain valid now), expiry, and only then the payload's digest.
   * https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#signature-verification
   */
  private async judgeNotation(artifact: NotationArtifact, trust: NotationTrust): Promise<Judgement> {
    const source = artifact.source;
    let timestamps: readonly TimestampJudgement[] = [];
    const judged = (judgement: Omit<Judgement, 'source'>): Judgement => ({
      source,
      ...judgement,
      ...(timestamps.length > 0 ? { timestamps } : {}),
    });
    const notation = (
      problem: NotationProblem,
      extra: Omit<Judgement, 'source' | 'problem'> = {},
    ): Judgement => judged({ ...extra, problem: { code: 'notation', problem } });
    const headerProblem = notationHeaderProblem(artifact);
    if (headerProblem) return notation(headerProblem);
    const [leaf] = artifact.chain;
    const algorithm = artifact.algorithm;
    if (!algorithm || notationKeyAlgorithm(leaf.publicKey) !== algorithm)
      return notation({ code: 'algorithm', algorithm });
    const { scheme } = NOTATION_ALGORITHMS[algorithm];
    const verified = await this.tried(
      leaf.publicKey,
      artifact.signed,
      { bytes: artifact.signature },
      1,
      scheme,
    );
    if (verified === 'over budget') return judged({ problem: { code: 'unchecked' } });
    if (!verified) return judged({ problem: { code: 'certificate key' } });
    const structure = notationChainProblem(artifact.chain, this.takeCheck);
    if (structure === 'over budget') {
      this.unchecked = 1;
      return judged({ problem: { code: 'unchecked' } });
    }
    if (structure) return notation({ code: 'chain', detail: structure });
    const trusted = new Set(trust.trustStore.map((certificate) => certificate.fingerprint256));
    if (!artifact.chain.some((certificate) => trusted.has(certificate.fingerprint256)))
      return notation({ code: 'not in trust store' });
    const subject = subjectName(leaf);
    const entries = trust.identities.flatMap((identity, index) =>
      'anyone' in identity || (subject && isSubsetName(identity.name, subject)) ? [`notation ${index}`] : [],
    );
    if (entries.length === 0)
      return notation({ code: 'identity', subject: leaf.subject.replace(/\n/g, ', ') });
    const signed: Signed = {
      signer: { notation: leaf, format: artifact.format },
      // Two certificates with one subject are one signer, as notation's identities see them.
      signerId: `notation ${subject ? nameText(subject) : leaf.fingerprint256}`,
      entries,
    };
    if (trust.timestampAuthorities.length > 0) {
      const stamped = await this.signedTimes(
        artifact.timestamps,
        artifact.signature,
        { authorities: trust.timestampAuthorities, required: true },
        { requireSigningCertificate: true },
      );
      timestamps = stamped.timestamps;
      // Every certificate of the chain must have been valid over the whole of the stamped range.
      const within = stamped.verified.some((timestamp) =>
        artifact.chain.every((certificate) => {
          const from = new Date(certificate.validFrom).getTime();
          const to = new Date(certificate.validTo).getTime();
          const time = timestamp.time.getTime();
          return from <= time - timestamp.accuracyMs && time + timestamp.accuracyMs <= to;
        }),
      );
      if (stamped.verified.length === 0)
        return judged({ ...signerFields(signed), problem: { code: 'no verified timestamp' } });
      if (!within) return notation({ code: 'chain', detail: 'not valid at timestamp' }, signerFields(signed));
    } else if (!artifact.chain.every((certificate) => validNow(certificate))) {
      return notation({ code: 'chain', detail: 'not valid now' }, signerFields(signed));
    }
    if (artifact.headers.expiry && Date.now() >= artifact.headers.expiry.getTime())
      return notation({ code: 'expired', expiry: artifact.headers.expiry }, signerFields(signed));
    // Only now is the payload believed, and it must name this digest.
    const payload = parseJson(artifact.payload);
    if (!isObject(payload)) return judged({ ...signerFields(signed), problem: { code: 'payload not JSON' } });
    const target = isObject(payload.targetArtifact) ? payload.targetArtifact : undefined;
    if (target?.digest !== this.digest)
      return judged({ ...signerFields(signed), problem: { code: 'other digest' } });
    return judged(signerFields(signed));
  }
}

const validNow = (certificate: X509Certificate): boolean => {
  const now = Date.now();
  return new Date(certificate.validFrom).getTime() <= now && now <= new Date(certificate.validTo).getTime();
};

/**
 * What the `notary.x509` scheme requires of the protected headers (notation-core-go's checks):
 * that scheme, a signing time and not an authentic one, the Notary Project payload type, the
 * scheme (and the expiry, where there is one) marked critical, and no critical header it does
 * not define, nor one marked critical and absent.
 */
function notationHeaderProblem({ headers }: NotationArtifact): NotationProblem | undefined {
  if (headers.signingScheme !== NOTARY_X509) return { code: 'signing scheme', scheme: headers.signingScheme };
  if (headers.present.includes(AUTHENTIC_SIGNING_TIME))
    return { code: 'signing scheme', scheme: headers.signingScheme };
  for (const header of headers.critical) {
    if (!UNDERSTOOD_CRITICAL.has(header)) return { code: 'critical header', header };
    if (!headers.present.includes(header)) return { code: 'critical header absent', header };
  }
  if (!headers.critical.includes(SIGNING_SCHEME))
    return { code: 'header not critical', header: SIGNING_SCHEME };
  if (headers.expiry && !headers.critical.includes(EXPIRY))
    return { code: 'header not critical', header: EXPIRY };
  if (headers.contentType !== NOTARY_PAYLOAD_TYPE)
    return { code: 'content type', contentType: headers.contentType };
  if (!headers.signingTime) return { code: 'no signing time' };
  return undefined;
}

/**
 * Every name a signer goes by: the key it signed with (SubjectPublicKeyInfo DER in hex) and, for a
 * cosign certificate, each of its identities (issuer and subject). Signers that share one are one.
 */
const signerNames = (signer: Signer): string[] => {
  const key =
    'key' in signer
      ? signer.key.key
      : 'certificate' in signer
        ? signer.certificate.publicKey
        : signer.notation.publicKey;
  const names = [`key ${key.export({ type: 'spki', format: 'der' }).toString('hex')}`];
  if ('certificate' in signer) {
    const { issuer, subjects } = certificateIdentity(signer.certificate);
    for (const subject of subjects) names.push(`identity ${issuer ?? ''} ${subject}`);
  }
  return names;
};

/**
 * The most of the rule's trusted keys and identities that distinct signers satisfy, each signer
 * standing for one of them at a time (a bipartite matching): a signer counts once however many of
 * its signatures are present, and one certificate that two identities both describe is still
 * one signer. Who holds one private key or one identity is one signer too, under whatever names it
 * signs: a trusted key, a certificate of a trusted identity, a Notary Project certificate, a
 * certificate naming two identities beside another naming one of them. The lists are small (the
 * rule's entries; at most one signer per artifact).
 */
export function distinctSigners(judgements: readonly Judgement[]): number {
  return countDistinctSigners(
    judgements.filter((j) => j.signer && !j.problem && j.signerId).map((j) => signerTally(j)!),
  );
}

/** A judgement's signer as distinctSigners counts it; undefined when it has none that counts. */
export function signerTally(judgement: Judgement): SignerTally | undefined {
  const { signer, signerId, entries, problem } = judgement;
  if (!signer || !signerId || problem) return undefined;
  return { id: signerId, names: signerNames(signer), entries: entries ?? [] };
}

/** distinctSigners over tallies: the same count, for signers a rule has already narrowed. */
export function countDistinctSigners(tallies: readonly SignerTally[]): number {
  // Signer ids that share a name are merged into the first of them (a union-find).
  const parent = new Map<string, string>();
  const root = (id: string): string => {
    let at = id;
    while (parent.get(at) !== at) at = parent.get(at)!;
    return at;
  };
  const byName = new Map<string, string>();
  for (const { id, names } of tallies) {
    if (!parent.has(id)) parent.set(id, id);
    for (const name of names) {
      const other = byName.get(name);
      if (other === undefined) byName.set(name, id);
      else if (root(other) !== root(id)) parent.set(root(id), root(other));
    }
  }
  const signers = new Map<string, Set<string>>();
  for (const tally of tallies) {
    const id = root(tally.id);
    const entries = signers.get(id) ?? new Set<string>();
    for (const entry of tally.entries) entries.add(entry);
    signers.set(id, entries);
  }
  const heldBy = new Map<string, string>();
  const assign = (signer: string, seen: Set<string>): boolean => {
    for (const entry of signers.get(signer) ?? []) {
      if (seen.has(entry)) continue;
      seen.add(entry);
      const holder = heldBy.get(entry);
      if (holder === undefined || assign(holder, seen)) {
        heldBy.set(entry, signer);
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  for (const signer of signers.keys()) if (assign(signer, new Set())) matched++;
  return matched;
}

/** The verdict over every judgement: enough distinct trusted signers, or the most telling reason. */
export function conclude(
  judgements: readonly Judgement[],
  request: VerificationRequest,
): VerificationOutcome {
  const relevant = judgements.filter((j) => j.problem?.code !== 'not asked for');
  const threshold = request.trust.threshold ?? 1;
  const counted = distinctSigners(relevant);
  if (counted >= threshold) return { code: 'verified' };
  if (counted > 0) return { code: 'not enough signers', counted, threshold };
  const signers = request.trust.certificates === undefined ? 'keys' : 'identities';
  const lacksLogProof = (j: Judgement): boolean => j.problem?.code === 'no tlog proof';
  const otherDigest = (j: Judgement): boolean => j.problem?.code === 'other digest';
  const untimed = (j: Judgement): boolean => j.problem?.code === 'no verified timestamp';
  if (request.kind === 'attestations') {
    const { predicateType } = request;
    const ofType = relevant.filter((j) => j.predicateType === predicateType);
    // The classic layout is refused before its type is read; a missing proof is the reason either way.
    if (ofType.some(lacksLogProof) || (ofType.length === 0 && relevant.some(lacksLogProof)))
      return { code: 'no tlog proof' };
    if (ofType.length === 0) return { code: 'no attestation', predicateType };
    if (ofType.some(otherDigest)) return { code: 'attestation for another digest' };
    if (ofType.some(untimed)) return { code: 'no verified timestamp' };
    return { code: 'no trusted attestation', predicateType, signers };
  }
  if (relevant.length === 0) return { code: 'no signature' };
  if (relevant.some(otherDigest)) return { code: 'signature for another digest' };
  // The classic layout's problem says why it carries none, after the reason itself.
  if (relevant.some(lacksLogProof)) return { code: 'no tlog proof' };
  if (relevant.some(untimed)) return { code: 'no verified timestamp' };
  // A rule that trusts Notary Project signers only, or found nothing but theirs, says so.
  const cosignSigners = request.trust.keys.length > 0 || request.trust.certificates !== undefined;
  if (request.trust.notation && (!cosignSigners || relevant.every((j) => j.source === 'notation signature')))
    return { code: 'no notation signature' };
  return { code: 'no trusted signature', signers };
}

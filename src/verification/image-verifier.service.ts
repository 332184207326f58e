import { Injectable } from '@nestjs/common';
import { BoundedTtlCache, DeadlineExceededError, InFlight, untilAborted } from '../cache';
import {
  RegistryAccess,
  RegistryClient,
  RegistryDeadline,
  RegistryFailure,
  RegistryFailureReason,
} from '../registry';
import { CosignEvidenceReader } from './cosign-evidence';
import { Discard, EvidenceSource, ReadEvidence } from './evidence';
import { SignerTally, conclude, distinctSigners, judgeArtifacts, signerTally } from './evidence-verifier';
import { SignatureTrust } from './trust';
import { ReviewBudget, VerificationBudget } from './verification-budgets';
import type { Judgement } from './verification-outcome';
import { discardRows, judgementRow, outcomeText, problemText, signerText } from './verification-words';

const MAX_VERIFICATIONS = 10_000;
/**
 * Payload bytes of verified statements the verdict cache holds for conditions, per worker. A
 * parsed statement takes a few times its bytes, and SBOMs run to megabytes: past this the least
 * recently used verdicts go, and their images are verified again, never judged unverified.
 */
export const MAX_CACHED_STATEMENT_BYTES = 16 * 1024 * 1024;

/** What a rule asks to be verified about an image's digest. */
export type VerificationRequest =
  | { readonly kind: 'signatures'; readonly trust: SignatureTrust }
  | {
      readonly kind: 'attestations';
      readonly trust: SignatureTrust;
      readonly predicateType: string;
      /** Hand on the statements that verified, for conditions to read (and cache them with the verdict). */
      readonly keepStatements?: boolean;
    };

/** Why a digest did not verify, in the words a denial uses (verification-words.ts makes them). */
export type VerificationReason = string;

/** One signature or attestation found, and what came of it, or something discarded as malformed. */
export interface EvidenceReport {
  /** Where it was found: a registry's artifact, or a file a policy test names. */
  readonly where: EvidenceSource | 'attestation file';
  /** The key or identity whose signature verified. */
  readonly verifiedBy?: string;
  /** Why it does not count. */
  readonly problem?: string;
  readonly predicateType?: string;
  /** Each RFC 3161 timestamp it carried: when and by whom, or why it does not count. */
  readonly timestamps?: readonly string[];
}

/** An attestation that counts (see Judgement.statement), with the statement a rule's conditions read. */
export interface VerifiedAttestation {
  readonly where: EvidenceReport['where'];
  /** The key or identity whose signature verified. */
  readonly verifiedBy: string;
  readonly predicateType: string;
  readonly statement: Readonly<Record<string, unknown>>;
  /** Who signed it, as a threshold counts signers: conditions with a threshold count these. */
  readonly signer: SignerTally;
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
  /**
   * Every attestation that counts, in the order found, when the request asked to keep statements.
   * A cache hit carries the very statements the verification that was cached verified: nothing is
   * read from the registry again without being verified again.
   */
  readonly attestations?: readonly VerifiedAttestation[];
  /**
   * How many distinct trusted keys or identities have a verified signature, of how many the rule
   * requires (its `threshold`); absent for a registry failure.
   */
  readonly signers?: { readonly counted: number; readonly required: number };
}

export interface VerificationTarget {
  readonly access: RegistryAccess;
  readonly repository: string;
  readonly digest: string;
  /** Part of every cache key: a policy edit never reuses a verdict of the policy before it. */
  readonly policyRevision: string;
  readonly successTtlMs: number;
  readonly failureTtlMs: number;
  /** Verify again past the cached verdict, and cache what comes of it: the ledger's background refresh. */
  readonly fresh?: boolean;
}

export { registryFailureReason } from './verification-words';

type Verdict = Omit<VerificationResult, 'cache' | 'ms'>;

/** A verdict beside what it weighs in the cache. */
interface WeighedVerdict {
  readonly verdict: Verdict;
  /** Payload bytes of the statements the verdict carries. */
  readonly weight: number;
}

/**
 * A verdict as the cache holds it: the very result a hit answers, built once when it is cached
 * (a hit waits on nothing: 0 ms). A hit then allocates nothing, where spreading the verdict into
 * a new result cost ~0.7 µs a hit on Node 20, whose V8 adds a property to a spread copy on a slow
 * path. Callers only read a result, so every hit may share it; it is frozen, so that one that
 * wrote to it would fail instead of reaching other reviews.
 */
interface CachedVerdict {
  readonly hit: VerificationResult;
  readonly weight: number;
}

/**
 * A verdict as the work that reached it left it: whether it may be cached, and whose budget cut it
 * short.
 */
interface Reached extends WeighedVerdict {
  readonly cacheable: boolean;
  /** The review whose budget of signature checks ran out during it. */
  readonly cutShortBy?: ReviewBudget;
}

const timedOut = (digest: string): Verdict => ({
  verified: false,
  reason: outcomeText({ code: 'registry failure', reason: 'timed out' }),
  detail: 'no answer within the review deadline',
  digest,
  evidence: [],
  registryFailure: 'timed out',
});

/**
 * Verifies cosign signatures and in-toto attestations of one digest against a rule's trust
 * material. Everything from the registry is untrusted until a signature over it verifies: it is
 * first read into one validated shape (what does not fit is discarded, counted and listed as a
 * malformed artifact), then judged in one fixed order under budgets of artifacts, signatures and
 * signature checks, and a payload is read only once its signature checks and must name this digest.
 * Verdicts are cached under the digest, the repository, the trust material and the policy
 * revision: successes for the policy's TTL, definite failures briefly (so a crash-looping
 * controller does not hammer the registry, while a freshly signed image passes within seconds),
 * registry failures and verdicts cut short by a review's budget never. Concurrent verifications of
 * one key share the work. Every verification given one deadline object counts against one
 * review's budget of signature checks: the engine makes one deadline per review.
 */
@Injectable()
export class ImageVerifier {
  private readonly verdicts = new BoundedTtlCache<string, CachedVerdict>({
    name: 'verification',
    maxEntries: MAX_VERIFICATIONS,
    maxWeight: MAX_CACHED_STATEMENT_BYTES,
    weigh: (cached) => cached.weight,
  });
  private readonly running = new InFlight<string, Reached>();
  private readonly reader: CosignEvidenceReader;
  private readonly reviewBudgets = new WeakMap<RegistryDeadline, ReviewBudget>();
  private readonly discardListeners: ((discarded: Discard) => void)[] = [];

  constructor(client: RegistryClient) {
    this.reader = new CosignEvidenceReader(client);
    this.verdicts.onEvent((cache, event) => client.reportCacheEvent(cache, event));
  }

  /** Hears of everything a verification discarded, once per verification that read it (not from the cache). */
  onDiscard(listener: (discarded: Discard) => void): void {
    this.discardListeners.push(listener);
  }

  async verify(
    target: VerificationTarget,
    request: VerificationRequest,
    deadline: RegistryDeadline,
  ): Promise<VerificationResult> {
    const key = [
      target.policyRevision,
      request.trust.hash,
      request.kind,
      request.kind === 'attestations' ? request.predicateType : '',
      request.kind === 'attestations' && request.keepStatements ? 'statements' : '',
      target.access.registry,
      target.repository,
      target.digest,
    ].join('\n');
    const cached = target.fresh ? undefined : this.verdicts.get(key);
    if (cached) return cached.hit;
    // Timed from here: a hit waits on nothing, and answers 0 ms without reading the clock.
    const started = Date.now();
    // A verification whose turn came after the review's deadline starts nothing: nobody would wait for it.
    if (deadline.signal.aborted)
      return { ...timedOut(target.digest), cache: 'miss', ms: Date.now() - started };
    let review = this.reviewBudgets.get(deadline);
    if (!review) this.reviewBudgets.set(deadline, (review = new ReviewBudget()));
    let verdict: Verdict;
    try {
      let reached = await this.reach(key, target, request, deadline, review);
      // Shared work that another review's budget cut short says nothing about this review: once, again.
      if (reached.cutShortBy !== undefined && reached.cutShortBy !== review)
        reached = await this.reach(key, target, request, deadline, review);
      verdict = reached.verdict;
    } catch (error) {
      if (!(error instanceof DeadlineExceededError)) throw error;
      verdict = timedOut(target.digest);
    }
    return { ...verdict, cache: 'miss', ms: Date.now() - started };
  }

  private reach(
    key: string,
    target: VerificationTarget,
    request: VerificationRequest,
    deadline: RegistryDeadline,
    review: ReviewBudget,
  ): Promise<Reached> {
    return untilAborted(
      // Shared by every review verifying this now: it runs until the last of them stops waiting.
      this.running.joinUntil(key, deadline, async (shared) => {
        const found = await this.collect(target, request, shared, review);
        if (found.cacheable)
          // The result a hit answers and its weight only, not the Reached record: a verdict reached
          // under a spent budget carries that review's budget, which the cache must not keep alive.
          this.verdicts.set(
            key,
            { hit: Object.freeze({ ...found.verdict, cache: 'hit', ms: 0 }), weight: found.weight },
            found.verdict.verified ? target.successTtlMs : target.failureTtlMs,
          );
        return found;
      }),
      deadline.signal,
    );
  }

  private async collect(
    target: VerificationTarget,
    request: VerificationRequest,
    deadline: RegistryDeadline,
    review: ReviewBudget,
  ): Promise<Reached> {
    const { access, repository, digest } = target;
    let read: ReadEvidence;
    try {
      read = await this.reader.read(request.kind, access, repository, digest, deadline, {
        cosign: request.trust.keys.length > 0 || request.trust.certificates !== undefined,
        notation: request.kind === 'signatures' && request.trust.notation !== undefined,
      });
    } catch (error) {
      const failure =
        error instanceof RegistryFailure
          ? error
          : deadline.signal.aborted
            ? new RegistryFailure('timed out', 'no answer within the review deadline')
            : new RegistryFailure('invalid response', error instanceof Error ? error.message : String(error));
      return {
        cacheable: false,
        weight: 0,
        verdict: {
          verified: false,
          reason: outcomeText({ code: 'registry failure', reason: failure.reason }),
          detail: failure.detail,
          digest,
          evidence: [],
          registryFailure: failure.reason,
        },
      };
    }
    const budget = new VerificationBudget(review, deadline);
    const judged = await judgeArtifacts(read.artifacts, request, digest, budget);
    if (judged.timedOut) return { cacheable: false, weight: 0, verdict: timedOut(digest) };
    const discarded = [...read.discarded, ...judged.discarded];
    for (const item of discarded) for (const listener of this.discardListeners) listener(item);
    const outcome = conclude(judged.judgements, request);
    const rows = judged.judgements.map(judgementRow);
    const malformed = discardRows(discarded);
    // The detail names what does not count and why, leaving out evidence of the other kind.
    const detail = [
      ...judged.judgements.flatMap((j) =>
        j.problem && j.problem.code !== 'not asked for' ? [`${j.source}: ${problemText(j.problem)}`] : [],
      ),
      ...malformed.map((r) => `${r.where}: ${r.problem}`),
    ].join('; ');
    const verified = outcome.code === 'verified';
    const counted = distinctSigners(judged.judgements.filter((j) => j.problem?.code !== 'not asked for'));
    // A failure reached without every artifact, for a reason of this review's, may pass.
    const cutShort = !verified && budget.spent === 'per review';
    const kept =
      request.kind === 'attestations' && request.keepStatements
        ? keptStatements(judged.judgements)
        : undefined;
    return {
      cacheable: verified || (!cutShort && !read.transient),
      cutShortBy: cutShort ? review : undefined,
      verdict: {
        verified,
        ...(verified ? {} : { reason: outcomeText(outcome), detail: detail || undefined }),
        digest,
        evidence: [...rows, ...malformed],
        ...(kept ? { attestations: kept.attestations } : {}),
        signers: { counted, required: request.trust.threshold ?? 1 },
      },
      weight: kept?.bytes ?? 0,
    };
  }
}

/** The statements of the attestations that count, in the order found, and their payloads' bytes. */
function keptStatements(judgements: readonly Judgement[]): {
  attestations: VerifiedAttestation[];
  bytes: number;
} {
  const attestations: VerifiedAttestation[] = [];
  let bytes = 0;
  for (const judgement of judgements) {
    const { statement, signer, predicateType, problem } = judgement;
    const tally = signerTally(judgement);
    if (!statement || !signer || !tally || problem || predicateType === undefined) continue;
    attestations.push({
      where: judgement.source,
      verifiedBy: signerText(signer),
      predicateType,
      statement: statement.json,
      signer: tally,
    });
    bytes += statement.bytes;
  }
  return { attestations, bytes };
}

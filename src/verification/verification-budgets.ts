import { setImmediate as nextTurn } from 'node:timers/promises';
import type { RegistryDeadline } from '../registry';

// What one verification may cost, whatever a registry or a signer serves. Each number is taken
// from cosign's or sigstore-go's own limits where they have one; SECURITY.md's budget table says why.

/**
 * Artifacts read per image and verification: the layers of the `.sig` or `.att` tag and the
 * referrers, together. cosign refuses an image with more than this many signatures or attestations.
 * https://github.com/sigstore/cosign/blob/main/pkg/cosign/fetch.go (maxAllowedSigsOrAtts)
 */
export const MAX_ARTIFACTS_PER_IMAGE = 100;
/** Artifacts fetched at once: an honest image has one to three, a hostile one waits its turn. */
export const ARTIFACT_FETCH_CONCURRENCY = 8;
/**
 * Signatures read per DSSE envelope. cosign and sigstore write one; a classic `.att` envelope may
 * carry several (DSSE allows it, and cosign accepts one trusted among them). sigstore-go bounds every
 * repeated part of a bundle at 32 (tlog entries, timestamps), and so do we.
 */
export const MAX_SIGNATURES_PER_ENVELOPE = 32;
/**
 * Transparency-log entries read per bundle.
 * https://github.com/sigstore/sigstore-go/blob/main/internal/limits/limits.go (MaxAllowedTlogEntries)
 */
export const MAX_TLOG_ENTRIES_PER_BUNDLE = 32;
/**
 * RFC 3161 timestamps read per signature: a bundle's `rfc3161Timestamps`, cosign's annotation (one),
 * a Notary Project countersignature (one).
 * https://github.com/sigstore/sigstore-go/blob/main/internal/limits/limits.go (MaxAllowedTimestamps)
 */
export const MAX_TIMESTAMPS_PER_SIGNATURE = 32;
/**
 * Bytes of one Notary Project signature envelope. notation's own are a few KiB (a chain of one to
 * three certificates and a timestamp); notation-go reads blobs of up to 32 MiB, as a CLI may.
 */
export const MAX_NOTATION_ENVELOPE_BYTES = 256 * 1024;
/**
 * Data items and nesting read of a COSE envelope before it is decoded: a Notary Project COSE_Sign1
 * has four items, a header map of a few entries and a chain of a few certificates, two or three
 * levels deep. The CBOR decoder spends microseconds per item and has no bound of its own on a flat
 * list, so an envelope past these is not decoded at all.
 */
export const MAX_COSE_ITEMS = 256;
export const MAX_COSE_DEPTH = 8;
/** An inclusion proof in a tree of 2^64 leaves has 64 hashes (RFC 9162 §2.1.3); none can have more. */
export const MAX_INCLUSION_PROOF_HASHES = 64;
/** Signature lines read per checkpoint: the log's own and a few witnesses' cosignatures. */
export const MAX_CHECKPOINT_SIGNATURES = 16;
/**
 * Certificates read per signature besides the leaf. certificateProblem walks at most five links up
 * from the leaf; twice that leaves room for a chain listed out of order with its root.
 */
export const MAX_CHAIN_CERTIFICATES = 10;
/**
 * In-toto subjects read per statement.
 * https://github.com/sigstore/sigstore-go/blob/main/pkg/verify/signature.go (maxAllowedSubjects)
 */
export const MAX_STATEMENT_SUBJECTS = 1024;
/**
 * Signature checks (each one `crypto.verify`, which hashes what it checks) per verification of one
 * image for one rule: every artifact cosign would read, each tried against its hinted key and one
 * more, with room to spare. A transparency log's checkpoint and entry timestamp count as checks too.
 */
export const MAX_SIGNATURE_CHECKS_PER_VERIFICATION = 256;
/** Signature checks per review, over all of its images and rules. */
export const MAX_SIGNATURE_CHECKS_PER_REVIEW = 1024;
/** Signature checks made between two turns of the event loop inside one artifact. */
export const SIGNATURE_CHECKS_PER_TURN = 8;

/** Which budget ran out: each is counted, and the excess discarded, under its own reason. */
export type SpentBudget = 'per verification' | 'per review';

/**
 * One review's allowance of signature checks, shared by every verification that names the review's
 * deadline. A verification cut short by it is a fact about this review, not about the image, and is
 * never cached.
 */
export class ReviewBudget {
  private checks = 0;

  take(): boolean {
    if (this.checks >= MAX_SIGNATURE_CHECKS_PER_REVIEW) return false;
    this.checks++;
    return true;
  }
}

/**
 * The signature checks one verification may still make, and its deadline: work on hostile evidence
 * stops once either runs out, and gives the event loop back every few checks so that other reviews
 * and the probes are answered meanwhile.
 */
export class VerificationBudget {
  private checks = 0;
  private sinceTurn = 0;
  /** The first budget that ran out, if any. */
  spent?: SpentBudget;
  /** Whether the work stopped because the deadline had passed, its verdict then unfinished. */
  stoppedAtDeadline = false;

  constructor(
    private readonly review: ReviewBudget,
    private readonly deadline: RegistryDeadline,
  ) {}

  get checksMade(): number {
    return this.checks;
  }

  /** Whether one more signature check may be made now; once false, it stays false. */
  takeCheck(): boolean {
    if (this.spent) return false;
    if (this.checks >= MAX_SIGNATURE_CHECKS_PER_VERIFICATION) this.spent = 'per verification';
    else if (!this.review.take()) this.spent = 'per review';
    else {
      this.checks++;
      this.sinceTurn++;
      return true;
    }
    return false;
  }

  get expired(): boolean {
    return Date.now() >= this.deadline.deadlineAt || this.deadline.signal.aborted;
  }

  /** Gives other work a turn of the event loop; says whether this verification may go on. */
  async nextTurn(): Promise<boolean> {
    this.sinceTurn = 0;
    await nextTurn();
    return this.goOn();
  }

  /** `nextTurn` when enough checks were made since the last one, so that one artifact cannot hog the loop. */
  async pace(): Promise<boolean> {
    return this.sinceTurn >= SIGNATURE_CHECKS_PER_TURN ? this.nextTurn() : this.goOn();
  }

  private goOn(): boolean {
    if (this.expired) this.stoppedAtDeadline = true;
    return !this.stoppedAtDeadline;
  }
}

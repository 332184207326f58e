import type { AttestationOutcome, ConditionBudget } from '../../attestation-conditions';
import type { ImageReference } from '../../image-reference';
import type { VerificationRequest, VerificationResult, VerifiedAttestation } from '../../verification';
import type { TagDigest } from '../patterns/image-pattern';

/** DI token under which every rule kind is registered, as one array (see rules/index.ts). */
export const IMAGE_RULES = Symbol('IMAGE_RULES');

/** The subset of JSON Schema the rules use to describe their policy value; it lands in the shipped schema. */
export type JsonSchema = { readonly [keyword: string]: unknown };

export interface RuleFinding {
  /** Opens the ImageReview clause that lists the images: "Images using latest tag are not allowed". */
  readonly summary: string;
  /** A predicate of the image: "uses the latest tag". */
  readonly problem: string;
  /** Shown after the image where images are listed: the reason a signature did not verify. */
  readonly detail?: string;
}

/** A policy value a rule could not compile; `path` is relative to the rule's key. */
export class RuleValueError extends Error {
  constructor(
    readonly path: readonly (string | number)[],
    message: string,
  ) {
    super(message);
    this.name = 'RuleValueError';
  }
}

/** What compiling a rule may use: the files its value names, read once and watched with the policy. */
export interface RuleCompileContext {
  /** The file's text (a path relative to the policy file is relative to it); throws saying why not. */
  readFile(path: string): string;
}

/**
 * What the engine gathered from the image's registry for one rule, once per review under one
 * deadline; a rule reads it and never calls the network itself.
 */
export interface RuleFacts {
  /** The registry's answer to what `verification` asked. */
  readonly verification?: VerificationResult;
  /** What the image's written tag resolves to now, for a rule whose `needsTagDigest` said so. */
  readonly tagDigest?: TagDigest;
  /** The review a registry-aware rule judges in, for what reads verified evidence (conditions). */
  readonly review?: ReviewContext;
}

/** What a rule may know of the review beyond the parsed image. */
export interface ReviewContext {
  /** The image as written in the pod spec. */
  readonly image: string;
  /** The review's one `now`. */
  readonly now: Date;
  /** What the review's attestation conditions may still spend. */
  readonly conditionBudget: ConditionBudget;
}

/** One verified attestation as a rule with conditions judged it, for `explain`. */
export interface AttestationJudgement extends Omit<VerifiedAttestation, 'statement' | 'signer'> {
  /** Undefined when it was not evaluated: an attestation before it already admitted the image. */
  readonly outcome?: AttestationOutcome;
  /** The attestation that admitted the image. */
  readonly admitted: boolean;
}

/** `check`'s finding, with the attestations a rule read to reach it. */
export interface RuleJudgement {
  readonly finding?: RuleFinding;
  readonly attestations?: readonly AttestationJudgement[];
}

/**
 * One kind of check, named by its key in the policy file (`disallowedTags: [latest]`).
 * Implementations are small pure classes: `compile` runs once per policy load and pre-builds
 * whatever matching needs; `check` runs for every image of every admission and does no I/O.
 * A rule that needs the image's registry says so, in `verification` (what to verify) or
 * `needsTagDigest` (what its tag resolves to now); the engine gathers that once per review, under
 * one deadline, and hands it to `check` as facts.
 */
export interface ImageRule<Settings = unknown> {
  readonly key: string;
  /** JSON Schema of the key's value, for the policy schema editors and the loader use. */
  readonly valueSchema: JsonSchema;
  /** Receives a value the schema already accepted. Throws RuleValueError for what a schema cannot say. */
  compile(value: unknown, context: RuleCompileContext): Settings;
  check(reference: ImageReference, settings: Settings, facts?: RuleFacts): RuleFinding | undefined;
  /**
   * `check`, with what the rule read of verified evidence beyond the verdict (the attestations its
   * conditions judged); the engine calls it instead of `check` where it exists, so that a decision
   * and its explanation come from one evaluation.
   */
  judge?(reference: ImageReference, settings: Settings, facts?: RuleFacts): RuleJudgement;
  verification?(settings: Settings): VerificationRequest;
  /** Whether `check` must know what the image's tag resolves to now. Pure, like `check`. */
  needsTagDigest?(reference: ImageReference, settings: Settings): boolean;
}

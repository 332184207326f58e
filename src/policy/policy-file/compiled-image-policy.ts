import type { ImageReference } from '../../image-reference';
import { ImagePattern, PatternGrant, TagDigest, grantingPattern } from '../patterns/image-pattern';
import type { NamespaceGlob } from '../patterns/glob';
import type { ImageRule } from '../rules/image-rule';
import type { RegistrySettings } from '../../registry';
import type { Enforcement } from './image-policy.schema';

/**
 * `spec.exceptions[]`: images (and namespaces) exempt from every rule until an expiry, with the
 * ticket that justifies it. Unlike a break-glass annotation, which any pod creator can write, an
 * exception is written by whoever controls the policy file.
 */
export class PolicyException {
  constructor(
    readonly ticket: string,
    readonly expires: Date,
    private readonly images: readonly ImagePattern[],
    private readonly namespaces: readonly NamespaceGlob[] | undefined,
  ) {}

  /**
   * Whether it lets the image through, as an exemption does (ImagePattern.grants): an image
   * pattern that names a tag covers an image written with a digest only while the tag resolves to
   * it. It lapses on its own: at `now` past the expiry it covers nothing.
   */
  grants(
    reference: ImageReference,
    namespace: string | undefined,
    now: Date,
    tagDigest?: TagDigest,
  ): PatternGrant {
    if (now >= this.expires) return 'no';
    if (this.namespaces && !(namespace && this.namespaces.some((glob) => glob.matches(namespace))))
      return 'no';
    return grantingPattern(this.images, reference, tagDigest).grant;
  }
}

/** Where /mutate pins images to digests. */
export interface PinScope {
  /** Absent means every namespace. */
  readonly namespaces?: readonly NamespaceGlob[];
  readonly exemptImages: readonly ImagePattern[];
  /** Pin the pod templates of controllers too, not only Pods. */
  readonly podControllers: boolean;
}

/** `spec.verificationLedger`, or its defaults: whether a ledger exists is for `serve` to say. */
export interface LedgerPolicy {
  /** The directory; `serve --ledger-dir` gives it when this does not. Read at start only. */
  readonly path?: string;
  readonly admitVerifiedWithinMs: number;
  readonly refreshBeforeMs: number;
}

/** A policy rule ready to run: its kind, its settings compiled once, and where it applies. */
export interface CompiledRule {
  readonly name: string;
  readonly enforcement: Enforcement;
  readonly rule: ImageRule;
  readonly settings: unknown;
  /** Absent means every namespace. */
  readonly namespaces?: readonly NamespaceGlob[];
  readonly exemptImages: readonly ImagePattern[];
}

/** An immutable, validated policy. Reloading swaps the whole object, so a review sees one policy throughout. */
export interface CompiledImagePolicy {
  readonly name: string;
  /** The file it came from, or the built-in default. */
  readonly source: string;
  /** First 12 hex digits of the SHA-256 of the file, recorded with every decision. */
  readonly revision: string;
  readonly exemptNamespaces: readonly NamespaceGlob[];
  readonly exemptImages: readonly ImagePattern[];
  readonly breakGlass: boolean;
  /** How far ahead a break-glass ticket may expire. */
  readonly breakGlassMaxHours: number;
  readonly rules: readonly CompiledRule[];
  /** Every file the policy names, by absolute path: watched with it, and part of its revision. */
  readonly referencedFiles: ReadonlyMap<string, string>;
  readonly registries: RegistrySettings;
  /** The whole review's budget for registry work. */
  readonly registryTimeoutMs: number;
  readonly tagTtlMs: number;
  /** Why this policy can deny nothing, when it can't; it was accepted only because it says allowPermissive. */
  readonly permissive?: string;
  /** Time-boxed exemptions only whoever controls the policy can write. */
  readonly exceptions: readonly PolicyException[];
  /**
   * What is accepted but surely not meant, as `file:line: key path message` (an exception that has
   * already expired): logged when the policy loads, printed by the CLI.
   */
  readonly warnings: readonly string[];
  /** How long a verified signature or attestation is reused, and a definite failure. */
  readonly verificationTtlMs: number;
  readonly verificationFailureTtlMs: number;
  /** Absent when the policy does not pin. */
  readonly pinDigests?: PinScope;
  readonly verificationLedger: LedgerPolicy;
}

/**
 * Whether a rule applies in a namespace. A review without a namespace gets every rule: when in
 * doubt the stricter reading wins.
 */
export function ruleAppliesIn(rule: CompiledRule, namespace: string | undefined): boolean {
  return !rule.namespaces || !namespace || rule.namespaces.some((glob) => glob.matches(namespace));
}

import type { ImagePattern } from '../patterns/image-pattern';
import type { NamespaceGlob } from '../patterns/glob';
import type { ImageRule } from '../rules/image-rule';
import type { Enforcement } from './image-policy.schema';

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
}

/**
 * Whether a rule applies in a namespace. A review without a namespace gets every rule: when in
 * doubt the stricter reading wins.
 */
export function ruleAppliesIn(rule: CompiledRule, namespace: string | undefined): boolean {
  return !rule.namespaces || !namespace || rule.namespaces.some((glob) => glob.matches(namespace));
}

/**
 * Why a registry could not answer, in the words a denial or a warning uses. The set is small on
 * purpose: each is something a user can act on (push the tag, fix the credentials, wait, ask the
 * registry's owner), and metrics label by it.
 */
export const REGISTRY_FAILURE_REASONS = [
  'not found',
  'unauthorized',
  'timed out',
  'rate limited',
  'unreachable',
  'invalid response',
  // A body that would take its review past the bytes a review may hold at once (SECURITY.md's
  // budget table). It is that artifact's problem: the evidence reader discards it and counts it.
  'over budget',
  // A registry on a private, loopback or link-local address is reached only when the policy lists
  // it: anyone who may create a pod names the registry, and so could make the bouncer call into its
  // own network. The reason says what to do about it.
  'private registry not in spec.registries',
] as const;
export type RegistryFailureReason = (typeof REGISTRY_FAILURE_REASONS)[number];

export class RegistryFailure extends Error {
  override name = 'RegistryFailure';

  constructor(
    readonly reason: RegistryFailureReason,
    /** What happened, for logs and `explain`: `HTTP 404 for HEAD …/manifests/v9`. Never a credential. */
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

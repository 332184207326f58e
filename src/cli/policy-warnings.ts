import type { CompiledImagePolicy } from '../policy';

/**
 * What a policy says that is accepted but surely not meant (an exception already expired), on
 * stderr, as the server logs it when the policy loads: the report on stdout stays parseable.
 */
export function warnAboutPolicy(policy: Pick<CompiledImagePolicy, 'warnings'>): void {
  for (const warning of policy.warnings) process.stderr.write(`kube-image-bouncer: warning: ${warning}\n`);
}

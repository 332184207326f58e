import type { CompiledImagePolicy } from '../../../src/policy';
import { ImagePolicyCompiler } from '../../../src/policy/policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES } from '../../../src/policy/rules';
import type { FakeRegistry } from '../../../src/testing/fake-registry';

/**
 * The policy that `yaml` says, compiled as `serve` compiles a policy file, with every rule kind
 * registered. `source` is where the file would be: files it names (a key, a CA bundle) are read
 * beside it.
 */
export function underPolicy(yaml: string, source = 'policy.yaml'): CompiledImagePolicy {
  return new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule())).compile(yaml, source);
}

/**
 * The text of a policy whose images come from `registry`, which serves plain HTTP on loopback as
 * the fake does, under `rules`: the lines of `spec.rules`, each rule starting `- name: ...`.
 * `settings` are more lines of `spec` (`registryTimeoutSeconds: 30`). For `underPolicy`, or for
 * `BouncerUnderAttack.start` to serve.
 */
export function policyOverRegistry(
  registry: Pick<FakeRegistry, 'access'>,
  rules: readonly string[],
  settings: readonly string[] = [],
): string {
  return [
    'apiVersion: kube-image-bouncer.io/v1alpha1',
    'kind: ImagePolicy',
    'spec:',
    '  registries:',
    `    - {host: "${registry.access.registry}", insecure: true}`,
    ...settings.map((line) => `  ${line}`),
    '  rules:',
    ...rules.map((line) => `    ${line}`),
  ].join('\n');
}

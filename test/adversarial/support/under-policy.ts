import type { CompiledImagePolicy } from '../../../src/policy';
import { ImagePolicyCompiler } from '../../../src/policy/policy-file/image-policy.compiler';
import { IMAGE_RULE_TYPES } from '../../../src/policy/rules';

/**
 * The policy that `yaml` says, compiled as `serve` compiles a policy file, with every rule kind
 * registered. `source` is where the file would be: files it names (a key, a CA bundle) are read
 * beside it.
 */
export function underPolicy(yaml: string, source = 'policy.yaml'): CompiledImagePolicy {
  return new ImagePolicyCompiler(IMAGE_RULE_TYPES.map((Rule) => new Rule())).compile(yaml, source);
}

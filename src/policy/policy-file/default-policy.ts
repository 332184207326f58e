/**
 * The policy in force without `--policy`: the original kube-image-bouncer's one rule. It goes
 * through the same compiler as any file, so it is validated like one.
 */
export const DEFAULT_POLICY_SOURCE = 'built-in default policy';

export const DEFAULT_POLICY_YAML = `apiVersion: kube-image-bouncer.io/v1alpha1
kind: ImagePolicy
metadata:
  name: default
spec:
  rules:
    - name: no-latest
      disallowedTags: [latest]
`;

/** Builders for review bodies as the kube-apiserver sends them. */

export const imageReview = (
  images: readonly string[],
  extra: { namespace?: string; annotations?: Record<string, string> } = {},
): Record<string, unknown> => ({
  apiVersion: 'imagepolicy.k8s.io/v1alpha1',
  kind: 'ImageReview',
  spec: { containers: images.map((image) => ({ image })), namespace: 'default', ...extra },
});

export const DIGEST = `sha256:${'a'.repeat(64)}`;

/**
 * The Go module this parser is a port of, and the release it follows. Every upstream link in this
 * folder names the same release (upstream.spec.ts checks), and `kube-image-bouncer version` reports
 * it, so whoever compares our parsing with Docker's or containerd's knows which grammar to read.
 */
export const DISTRIBUTION_REFERENCE = {
  module: 'github.com/distribution/reference',
  version: 'v0.6.0',
} as const;

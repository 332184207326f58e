import { createHash } from 'node:crypto';

/**
 * RFC 9162 §2.1, written straight from the definitions (MTH and PATH, recursively), for specs that
 * build transparency-log entries: an oracle independent of the iterative verifier under test.
 */
const sha256 = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();

export const merkleLeafHash = (data: Buffer): Buffer => sha256(Buffer.from([0]), data);
export const merkleNodeHash = (left: Buffer, right: Buffer): Buffer => sha256(Buffer.from([1]), left, right);

/** The largest power of two smaller than n (RFC 9162 §2.1.1). */
const split = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

/** MTH: the root of a tree over these leaf hashes. */
export const merkleTreeHash = (leaves: readonly Buffer[]): Buffer =>
  leaves.length === 1
    ? leaves[0]
    : merkleNodeHash(
        merkleTreeHash(leaves.slice(0, split(leaves.length))),
        merkleTreeHash(leaves.slice(split(leaves.length))),
      );

/** PATH: the inclusion proof of the leaf at `index`, from the leaf up. */
export const merkleInclusionPath = (index: number, leaves: readonly Buffer[]): Buffer[] => {
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...merkleInclusionPath(index, leaves.slice(0, k)), merkleTreeHash(leaves.slice(k))]
    : [...merkleInclusionPath(index - k, leaves.slice(k)), merkleTreeHash(leaves.slice(0, k))];
};

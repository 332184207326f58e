import { createHash } from 'node:crypto';
import { TlogEntry } from './cosign-evidence';
import { signatureVerifies } from './signature-crypto';
import { TrustedLog } from './trust';

const sha256 = (...parts: Buffer[]): Buffer => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

/**
 * RFC 9162 §2.1.3.2: whether `proof` shows the leaf at `index` inside the tree of `size` leaves
 * whose root is `root`.
 */
export function inclusionProofVerifies(
  index: bigint,
  size: bigint,
  leafHash: Buffer,
  proof: readonly Buffer[],
  root: Buffer,
): boolean {
  if (index >= size || index < 0n) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && r.equals(root);
}

/** A leaf's hash in the log's Merkle tree: RFC 9162 prefixes leaves with 0x00. */
export const leafHash = (body: Buffer): Buffer => sha256(Buffer.from([0]), body);

/**
 * Whether a checkpoint (a signed note: origin, tree size, base64 root hash, then signature lines
 * `— <name> <base64(key hint ‖ signature)>`) is signed by `log` and states `size` and `root`.
 * https://github.com/transparency-dev/formats/blob/main/log/README.md
 */
export function checkpointVerifies(envelope: string, log: TrustedLog, size: bigint, root: Buffer): boolean {
  const split = envelope.indexOf('\n\n');
  if (split < 0) return false;
  const note = envelope.slice(0, split + 1);
  const [, sizeLine, rootLine] = note.split('\n');
  if (sizeLine !== size.toString() || rootLine !== root.toString('base64')) return false;
  const hint = Buffer.from(log.logId, 'hex').subarray(0, 4);
  return envelope
    .slice(split + 2)
    .split('\n')
    .filter((line) => line.startsWith('— '))
    .some((line) => {
      const signature = Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64');
      return (
        signature.length > 4 &&
        signature.subarray(0, 4).equals(hint) &&
        signatureVerifies(log.key, Buffer.from(note, 'utf8'), signature.subarray(4))
      );
    });
}

/** What a DSSE entry of Rekor records: the payload's hash and the envelope's signatures. */
interface DsseEntryBody {
  kind?: string;
  spec?: {
    payloadHash?: { algorithm?: string; value?: string };
    signatures?: { signature?: string }[];
  };
}

/**
 * Why a bundle's transparency-log entry does not prove its DSSE envelope was logged, or undefined
 * with the time it was integrated when it does. Checked offline against the trusted root's log
 * keys: the entry's log is trusted, its body records this envelope, the inclusion proof leads from
 * the body to the root, and the checkpoint stating that root is signed by the log.
 */
export function tlogProblem(
  entry: TlogEntry,
  envelope: { readonly payload: Buffer; readonly signatures: readonly Buffer[] },
  logs: readonly TrustedLog[],
): { problem: string } | { integratedAt?: Date } {
  const logId = entry.logId?.keyId ? Buffer.from(entry.logId.keyId, 'base64').toString('hex') : undefined;
  const log = logs.find((l) => l.logId === logId);
  if (!log) return { problem: 'the transparency-log entry is from a log the trusted root does not name' };
  const proof = entry.inclusionProof;
  if (!proof?.rootHash || !proof.treeSize || proof.logIndex === undefined || !proof.checkpoint?.envelope)
    return { problem: 'the transparency-log entry has no inclusion proof' };
  if (!entry.canonicalizedBody) return { problem: 'the transparency-log entry has no body' };
  const body = Buffer.from(entry.canonicalizedBody, 'base64');
  let recorded: DsseEntryBody;
  try {
    recorded = JSON.parse(body.toString('utf8')) as DsseEntryBody;
  } catch {
    return { problem: 'the transparency-log entry body is not JSON' };
  }
  if (recorded.kind !== 'dsse')
    return { problem: `transparency-log entries of kind ${String(recorded.kind)} are not read` };
  const payloadHash = createHash('sha256').update(envelope.payload).digest('hex');
  const logged = new Set((recorded.spec?.signatures ?? []).map((s) => s.signature));
  // Every signature of the envelope must be the log's: one logged signature does not vouch for
  // another put beside it later, which may be the very one that verifies.
  if (
    recorded.spec?.payloadHash?.value !== payloadHash ||
    envelope.signatures.length === 0 ||
    !envelope.signatures.every((s) => logged.has(s.toString('base64')))
  )
    return { problem: 'the transparency-log entry records another envelope' };
  let index: bigint;
  let size: bigint;
  try {
    index = BigInt(proof.logIndex);
    size = BigInt(proof.treeSize);
  } catch {
    return { problem: 'the inclusion proof has no valid index or tree size' };
  }
  const root = Buffer.from(proof.rootHash, 'base64');
  const hashes = (proof.hashes ?? []).map((h) => Buffer.from(h, 'base64'));
  if (!inclusionProofVerifies(index, size, leafHash(body), hashes, root))
    return { problem: 'the inclusion proof does not lead to its root' };
  if (!checkpointVerifies(proof.checkpoint.envelope, log, size, root))
    return { problem: 'the checkpoint is not signed by the log, or states another tree' };
  return { integratedAt: promisedTime(entry, body, log) };
}

/**
 * The time the log integrated the entry, but only when the log signed it: the inclusion proof
 * covers the body, not `integratedTime`, so an unsigned time could be edited to bring an expired
 * signing certificate back inside its validity. Without a verifying signed entry timestamp the
 * certificate is judged now.
 * https://github.com/sigstore/rekor/blob/main/pkg/verify/verify.go (VerifySignedEntryTimestamp)
 */
function promisedTime(entry: TlogEntry, body: Buffer, log: TrustedLog): Date | undefined {
  const timestamp = entry.inclusionPromise?.signedEntryTimestamp;
  const seconds = Number(entry.integratedTime);
  const index = Number(entry.logIndex);
  if (!timestamp || !Number.isSafeInteger(seconds) || !Number.isSafeInteger(index)) return undefined;
  // RFC 8785 canonical JSON of the promise: keys sorted, no spaces.
  const promise = JSON.stringify({
    body: body.toString('base64'),
    integratedTime: seconds,
    logID: log.logId,
    logIndex: index,
  });
  return signatureVerifies(log.key, Buffer.from(promise, 'utf8'), Buffer.from(timestamp, 'base64'))
    ? new Date(seconds * 1000)
    : undefined;
}

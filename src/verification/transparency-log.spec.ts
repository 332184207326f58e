import { KeyObject, createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import type { TlogEntry } from './cosign-evidence';
import { checkpointVerifies, inclusionProofVerifies, leafHash, tlogProblem } from './transparency-log';
import { TrustedLog } from './trust';
import {
  merkleInclusionPath as path,
  merkleLeafHash as leafOf,
  merkleNodeHash as nodeOf,
  merkleTreeHash as treeHash,
} from '../testing/merkle-tree';

const sha256 = (...parts: Buffer[]): Buffer => createHash('sha256').update(Buffer.concat(parts)).digest();
const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');

const leavesOf = (size: number): Buffer[] =>
  Array.from({ length: size }, (_, i) => leafOf(Buffer.from(`entry ${i}`)));

/** Every (size, index) of trees of 1 to 8 leaves. */
const vectors = Array.from({ length: 8 }, (_, s) => s + 1).flatMap((size) =>
  Array.from({ length: size }, (_, index) => ({ size, index })),
);

describe(inclusionProofVerifies.name, () => {
  const sut = inclusionProofVerifies;

  it('agrees with the reference on the shape of small trees', () => {
    // Spot checks of the reference itself: 2 leaves hash as one node, 3 as (01)2, 5 as ((01)(23))4.
    const l = leavesOf(5);
    expect(treeHash(l.slice(0, 2))).toEqual(nodeOf(l[0], l[1]));
    expect(treeHash(l.slice(0, 3))).toEqual(nodeOf(nodeOf(l[0], l[1]), l[2]));
    expect(treeHash(l)).toEqual(nodeOf(nodeOf(nodeOf(l[0], l[1]), nodeOf(l[2], l[3])), l[4]));
    expect(path(2, l)).toEqual([l[3], nodeOf(l[0], l[1]), l[4]]);
  });

  it.each(vectors)('proves leaf $index of a tree of $size', ({ size, index }) => {
    const leaves = leavesOf(size);

    expect(sut(BigInt(index), BigInt(size), leaves[index], path(index, leaves), treeHash(leaves))).toBe(true);
  });

  it.each(vectors)('refuses another leaf at index $index of $size', ({ size, index }) => {
    const leaves = leavesOf(size);

    expect(
      sut(BigInt(index), BigInt(size), leafOf(Buffer.from('forged')), path(index, leaves), treeHash(leaves)),
    ).toBe(false);
  });

  it.each(vectors.filter(({ size }) => size > 1))(
    'refuses a proof for leaf $index of $size with any one hash changed',
    ({ size, index }) => {
      const leaves = leavesOf(size);
      const proof = path(index, leaves);

      for (let at = 0; at < proof.length; at++) {
        const tampered = proof.map((hash, i) => (i === at ? randomBytes(32) : hash));
        expect(sut(BigInt(index), BigInt(size), leaves[index], tampered, treeHash(leaves))).toBe(false);
      }
    },
  );

  it.each(vectors.filter(({ size }) => size > 1))(
    'refuses a proof for leaf $index of $size one hash short or one too long',
    ({ size, index }) => {
      const leaves = leavesOf(size);
      const proof = path(index, leaves);
      const root = treeHash(leaves);

      expect(sut(BigInt(index), BigInt(size), leaves[index], proof.slice(0, -1), root)).toBe(false);
      expect(sut(BigInt(index), BigInt(size), leaves[index], [...proof, randomBytes(32)], root)).toBe(false);
    },
  );

  it.each(vectors.filter(({ size }) => size > 1))(
    'refuses the proof of leaf $index of $size for the neighbouring index',
    ({ size, index }) => {
      const leaves = leavesOf(size);
      const other = (index + 1) % size;

      expect(sut(BigInt(other), BigInt(size), leaves[index], path(index, leaves), treeHash(leaves))).toBe(
        false,
      );
    },
  );

  it('refuses an index outside the tree', () => {
    const leaves = leavesOf(4);
    const root = treeHash(leaves);

    expect(sut(4n, 4n, leaves[3], path(3, leaves), root)).toBe(false);
    expect(sut(-1n, 4n, leaves[0], path(0, leaves), root)).toBe(false);
  });

  it('refuses another root', () => {
    const leaves = leavesOf(6);

    expect(sut(3n, 6n, leaves[3], path(3, leaves), treeHash(leavesOf(7)))).toBe(false);
  });
});

describe('leafHash', () => {
  it('prefixes the entry with 0x00, as RFC 9162 hashes leaves', () => {
    expect(leafHash(Buffer.from('entry'))).toEqual(sha256(Buffer.from([0]), Buffer.from('entry')));
  });
});

interface Log extends TrustedLog {
  readonly privateKey: KeyObject;
  readonly origin: string;
}

function log(origin: string, type: 'ec' | 'ed25519' = 'ec'): Log {
  const { privateKey, publicKey } =
    type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const id = sha256(publicKey.export({ type: 'spki', format: 'der' }));
  return { origin, privateKey, key: publicKey, logId: id.toString('hex') };
}

/** A signed note: the checkpoint body, a blank line, and `— <name> <base64(key hint ‖ signature)>`. */
function signedNote(signer: Log, size: bigint, root: Buffer, hintOf: Log = signer): string {
  const note = `${signer.origin}\n${size}\n${b64(root)}\n`;
  const algorithm = signer.key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  const signature = sign(algorithm, Buffer.from(note), signer.privateKey);
  const hint = Buffer.from(hintOf.logId, 'hex').subarray(0, 4);
  return `${note}\n— ${signer.origin} ${b64(Buffer.concat([hint, signature]))}\n`;
}

describe(checkpointVerifies.name, () => {
  const sut = checkpointVerifies;
  const rekor = log('rekor.example - 1');
  const other = log('rekor.example - 2');
  const root = randomBytes(32);

  it('accepts a checkpoint the log signed, stating the size and root', () => {
    expect(sut(signedNote(rekor, 5n, root), rekor, 5n, root)).toBe(true);
  });

  it('accepts a checkpoint signed with an Ed25519 log key', () => {
    const ed = log('ed.example', 'ed25519');

    expect(sut(signedNote(ed, 5n, root), ed, 5n, root)).toBe(true);
  });

  it('finds the log among several signature lines', () => {
    const mine = signedNote(rekor, 5n, root);
    const witness = signedNote(other, 5n, root).split('\n\n')[1];

    expect(sut(`${mine}${witness}`, rekor, 5n, root)).toBe(true);
  });

  it('refuses a checkpoint stating another size or root', () => {
    const note = signedNote(rekor, 5n, root);

    expect(sut(note, rekor, 6n, root)).toBe(false);
    expect(sut(note, rekor, 5n, randomBytes(32))).toBe(false);
  });

  it('refuses a checkpoint signed by another key, even under the log key hint', () => {
    expect(sut(signedNote(other, 5n, root, rekor), rekor, 5n, root)).toBe(false);
  });

  it("refuses the log's signature under another key hint", () => {
    expect(sut(signedNote(rekor, 5n, root, other), rekor, 5n, root)).toBe(false);
  });

  it('refuses a note changed after signing', () => {
    const note = signedNote(rekor, 5n, root).replace('rekor.example - 1\n', 'rekor.example - 9\n');

    expect(sut(note, rekor, 5n, root)).toBe(false);
  });

  it('refuses a note without signatures', () => {
    expect(sut(`${rekor.origin}\n5\n${b64(root)}\n`, rekor, 5n, root)).toBe(false);
  });
});

describe(tlogProblem.name, () => {
  const sut = tlogProblem;
  const rekor = log('rekor.example - 1');
  const payload = Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}');
  const signature = randomBytes(70);
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  const keys = [signer];
  const envelope = { payload, signatures: [signature], keys };

  const dsseBody = (value: object = {}): Buffer =>
    Buffer.from(
      JSON.stringify({
        apiVersion: '0.0.1',
        kind: 'dsse',
        spec: {
          payloadHash: { algorithm: 'sha256', value: sha256(payload).toString('hex') },
          signatures: [
            { signature: b64(signature), verifier: b64(signer.export({ type: 'spki', format: 'pem' })) },
          ],
        },
        ...value,
      }),
    );

  /** An entry for `body` at index 1 of a 3-leaf tree, proven and checkpointed by `rekor`. */
  function entry(body: Buffer, integratedTime = '1700000000'): TlogEntry {
    const leaves = [leafOf(Buffer.from('a')), leafOf(body), leafOf(Buffer.from('c'))];
    const root = treeHash(leaves);
    return {
      logIndex: '1',
      logId: { keyId: b64(Buffer.from(rekor.logId, 'hex')) },
      kindVersion: { kind: 'dsse', version: '0.0.1' },
      integratedTime,
      canonicalizedBody: b64(body),
      inclusionProof: {
        logIndex: '1',
        rootHash: b64(root),
        treeSize: '3',
        hashes: path(1, leaves).map((h) => b64(h)),
        checkpoint: { envelope: signedNote(rekor, 3n, root) },
      },
    };
  }

  /** Rekor's signed entry timestamp over the body, the time, the log and the index. */
  const promised = (
    e: TlogEntry,
    signer: Log = rekor,
    integratedTime = Number(e.integratedTime),
  ): TlogEntry => ({
    ...e,
    inclusionPromise: {
      signedEntryTimestamp: b64(
        sign(
          'sha256',
          Buffer.from(
            JSON.stringify({
              body: e.canonicalizedBody,
              integratedTime,
              logID: rekor.logId,
              logIndex: Number(e.logIndex),
            }),
          ),
          signer.privateKey,
        ),
      ),
    },
  });

  it('proves an entry and says when the log integrated it, the time being signed by the log', () => {
    expect(sut(promised(entry(dsseBody())), envelope, [rekor])).toEqual({
      integratedAt: new Date(1_700_000_000_000),
    });
  });

  it.each<[string, (e: TlogEntry) => TlogEntry]>([
    ['no signed entry timestamp', (e) => e],
    ['a timestamp signed by another key', (e) => promised(e, log('someone else'))],
    ['a time other than the one signed', (e) => ({ ...promised(e), integratedTime: '1600000000' })],
  ])('proves the entry but gives no time to trust with %s', (_case, change) => {
    expect(sut(change(entry(dsseBody())), envelope, [rekor])).toEqual({ integratedAt: undefined });
  });

  it.each<[string, (e: TlogEntry) => TlogEntry, string]>([
    ['is from an unknown log', (e) => ({ ...e, logId: { keyId: b64(randomBytes(32)) } }), 'does not name'],
    ['names no log', (e) => ({ ...e, logId: undefined }), 'does not name'],
    ['has no inclusion proof', (e) => ({ ...e, inclusionProof: undefined }), 'has no inclusion proof'],
    [
      'has no checkpoint',
      (e) => ({ ...e, inclusionProof: { ...e.inclusionProof, checkpoint: undefined } }),
      'has no inclusion proof',
    ],
    ['has no body', (e) => ({ ...e, canonicalizedBody: undefined }), 'has no body'],
    [
      'has a tree size that is no number',
      (e) => ({ ...e, inclusionProof: { ...e.inclusionProof, treeSize: 'three' } }),
      'no valid index or tree size',
    ],
  ])('says why an entry that %s proves nothing', (_case, change, problem) => {
    const result = sut(change(entry(dsseBody())), envelope, [rekor]);

    expect(result).toEqual({ problem: expect.stringContaining(problem) });
  });

  it('does not read a body that is not JSON', () => {
    expect(sut(entry(Buffer.from('not json')), envelope, [rekor])).toEqual({
      problem: 'the transparency-log entry body is not JSON',
    });
  });

  it('reads only dsse entries', () => {
    expect(sut(entry(dsseBody({ kind: 'hashedrekord' })), envelope, [rekor])).toEqual({
      problem: 'transparency-log entries of kind hashedrekord are not read',
    });
  });

  it.each([
    ['another payload', { payload: Buffer.from('{}'), signatures: [signature], keys }],
    ['another signature', { payload, signatures: [randomBytes(70)], keys }],
    ['a signature beside the logged one', { payload, signatures: [signature, randomBytes(70)], keys }],
    ['no signature at all', { payload, signatures: [], keys }],
  ])('says the entry records another envelope than one with %s', (_case, other) => {
    expect(sut(entry(dsseBody()), other, [rekor])).toEqual({
      problem: 'the transparency-log entry records another envelope',
    });
  });

  it('says the entry records another signer when its verifier is not a key the rule trusts', () => {
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;

    expect(sut(entry(dsseBody()), { ...envelope, keys: [stranger] }, [rekor])).toEqual({
      problem: 'the transparency-log entry records another signer',
    });
  });
});

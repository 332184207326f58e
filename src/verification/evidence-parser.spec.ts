import { randomBytes, sign } from 'node:crypto';
import {
  Authority,
  BUNDLE,
  IN_TOTO,
  SigningCertificate,
  authority,
  b64,
  keyPair,
  signingCertificate,
} from '../testing/cosign-fixtures';
import { digestOf } from '../testing/fake-registry';
import {
  CERTIFICATE_ANNOTATION,
  CHAIN_ANNOTATION,
  Descriptor,
  SIGNATURE_ANNOTATION,
  bundleOf,
  classicAttestationOf,
  classicSignatureOf,
  descriptorOf,
  descriptorsOf,
  envelopeOf,
  signatureOf,
  tlogEntryOf,
} from './evidence-parser';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const signer = keyPair();
const signature = sign('sha256', Buffer.from('x'), signer.privateKey);
const envelope = (signatures: unknown): unknown => ({
  payloadType: IN_TOTO,
  payload: b64('{"_type":"https://in-toto.io/Statement/v1"}'),
  signatures,
});
const layer = (annotations: Record<string, unknown> = {}): Descriptor => ({
  digest: DIGEST,
  mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
  annotations,
});

describe('descriptorOf', () => {
  it('reads a descriptor with a sha256 digest, its media type, artifact type and annotations', () => {
    expect(
      descriptorOf({ mediaType: 'm', digest: DIGEST, size: 3, artifactType: 'a', annotations: { k: 'v' } }),
    ).toEqual({ digest: DIGEST, mediaType: 'm', artifactType: 'a', annotations: { k: 'v' } });
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'not an object'],
    ['a number', 7, 'not an object'],
    ['a list', [DIGEST], 'not an object'],
    [
      'a digest climbing out of the repository',
      { digest: 'sha256:../../x/manifests/latest' },
      'no sha256 digest',
    ],
    ['a digest of another algorithm', { digest: `sha512:${'a'.repeat(128)}` }, 'no sha256 digest'],
    ['an upper-case digest', { digest: DIGEST.toUpperCase() }, 'no sha256 digest'],
    ['a media type that is a number', { digest: DIGEST, mediaType: 1 }, 'field of the wrong type'],
    ['annotations that are a string', { digest: DIGEST, annotations: 'x' }, 'field of the wrong type'],
  ])('says why %s is no descriptor', (_case, value, cause) => {
    expect(descriptorOf(value)).toBe(cause);
  });

  it('keeps the descriptors of a list that fit and discards the rest, one by one', () => {
    const read = descriptorsOf([{ digest: DIGEST }, null, 5], 'sigstore bundle', 'referrers not a list');

    expect(read.value).toEqual([{ digest: DIGEST, annotations: {} }]);
    expect(read.discarded.map((d) => [d.reason, d.cause])).toEqual([
      ['malformed descriptor', 'not an object'],
      ['malformed descriptor', 'not an object'],
    ]);
  });

  it('reads a list that is not one as empty, discarding it as a malformed manifest', () => {
    expect(descriptorsOf({ 0: {} }, 'sig tag', 'layers not a list')).toEqual({
      value: [],
      discarded: [{ source: 'sig tag', reason: 'malformed manifest', cause: 'layers not a list', count: 1 }],
    });
  });
});

describe('signatureOf', () => {
  it('reads base64 (standard or URL-safe) signatures, with a keyid as a hint', () => {
    expect(signatureOf({ sig: b64(signature), keyid: 'k' })).toEqual({ bytes: signature, keyHint: 'k' });
    expect(signatureOf({ sig: signature.toString('base64url') })).toEqual({ bytes: signature });
  });

  it('takes a keyid of another type, or an empty one, as no hint', () => {
    expect(signatureOf({ sig: b64(signature), keyid: 5 })).toEqual({ bytes: signature });
    expect(signatureOf({ sig: b64(signature), keyid: '' })).toEqual({ bytes: signature });
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'not an object'],
    ['a number', 42, 'not an object'],
    ['a string', 'MEUCIQ', 'not an object'],
    ['a sig that is a number', { sig: 1 }, 'field of the wrong type'],
    ['no sig', { keyid: 'k' }, 'field of the wrong type'],
    ['an empty sig', { sig: '' }, 'empty signature'],
    ['a sig that is not base64', { sig: 'not base64!' }, 'signature not base64'],
    ['a sig longer than any signature', { sig: b64(randomBytes(2048)) }, 'signature too long'],
  ])('discards %s', (_case, value, cause) => {
    expect(signatureOf(value)).toBe(cause);
  });
});

describe('envelopeOf', () => {
  it('decodes the payload once and keeps the usable signatures, counting what it discards', () => {
    const read = envelopeOf(envelope([null, { sig: b64(signature) }, { sig: '' }]), 'att tag');

    expect(read.value).toEqual({
      payloadType: IN_TOTO,
      payload: Buffer.from('{"_type":"https://in-toto.io/Statement/v1"}'),
      signatures: [{ bytes: signature }],
      writtenSignatures: 3,
    });
    expect(read.discarded.map((d) => d.cause)).toEqual(['not an object', 'empty signature']);
  });

  it('reads at most 32 signature entries, counting the rest without looking at them', () => {
    const read = envelopeOf(
      envelope(Array.from({ length: 5000 }, () => ({ sig: b64(signature) }))),
      'att tag',
    );

    expect(read.value?.signatures).toHaveLength(32);
    expect(read.value?.writtenSignatures).toBe(5000);
    expect(read.discarded).toEqual([
      { source: 'att tag', reason: 'signatures over budget', cause: 'over budget', count: 4968 },
    ]);
  });

  it('keeps an envelope whose every signature was discarded: evidence nobody trusted signed', () => {
    expect(envelopeOf(envelope([null]), 'att tag').value?.signatures).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'not an object'],
    ['no payload', { payloadType: IN_TOTO, signatures: [] }, 'no payload'],
    [
      'a payload that is not base64',
      { payload: '{"a":1}', payloadType: IN_TOTO, signatures: [] },
      'payload not base64',
    ],
    ['no payload type', { payload: '', signatures: [] }, 'no payload type'],
    [
      'signatures that are not a list',
      { payload: '', payloadType: IN_TOTO, signatures: {} },
      'signatures not a list',
    ],
  ])('discards an envelope with %s', (_case, value, cause) => {
    expect(envelopeOf(value, 'sigstore bundle')).toEqual({
      discarded: [{ source: 'sigstore bundle', reason: 'malformed envelope', cause, count: 1 }],
    });
  });
});

describe('tlogEntryOf', () => {
  const entry = {
    logIndex: '7',
    logId: { keyId: 'a2V5' },
    kindVersion: { kind: 'dsse', version: '0.0.1' },
    integratedTime: '1700000000',
    inclusionPromise: { signedEntryTimestamp: 'c2V0' },
    canonicalizedBody: 'Ym9keQ==',
    inclusionProof: {
      logIndex: '7',
      rootHash: 'cm9vdA==',
      treeSize: '8',
      hashes: ['aA=='],
      checkpoint: { envelope: 'note' },
    },
  };

  it('reads an entry as protobuf JSON writes it', () => {
    expect(tlogEntryOf(entry)).toEqual(entry);
  });

  it('reads int64 fields written as JSON numbers as the strings protobuf writes', () => {
    expect(
      tlogEntryOf({
        ...entry,
        logIndex: 7,
        integratedTime: 1700000000,
        inclusionProof: { ...entry.inclusionProof, treeSize: 8 },
      }),
    ).toEqual(entry);
  });

  it('leaves absent fields absent, for verification to say what is missing', () => {
    expect(tlogEntryOf({ logId: { keyId: 'a2V5' } })).toEqual({ logId: { keyId: 'a2V5' } });
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'not an object'],
    ['a log id that is a string', { ...entry, logId: 'a2V5' }, 'field of the wrong type'],
    ['a key id that is a number', { ...entry, logId: { keyId: 1 } }, 'field of the wrong type'],
    ['a body that is an object', { ...entry, canonicalizedBody: {} }, 'field of the wrong type'],
    ['an index that is a fraction', { ...entry, logIndex: 1.5 }, 'field of the wrong type'],
    [
      'proof hashes that are not a list',
      { ...entry, inclusionProof: { ...entry.inclusionProof, hashes: 'aA==' } },
      'field of the wrong type',
    ],
    [
      'a proof hash that is null',
      { ...entry, inclusionProof: { ...entry.inclusionProof, hashes: [null] } },
      'field of the wrong type',
    ],
    [
      'a checkpoint that is a string',
      { ...entry, inclusionProof: { ...entry.inclusionProof, checkpoint: 'note' } },
      'field of the wrong type',
    ],
    [
      'a proof longer than any tree needs',
      {
        ...entry,
        inclusionProof: { ...entry.inclusionProof, hashes: Array.from({ length: 65 }, () => 'aA==') },
      },
      'proof too long',
    ],
  ])('discards an entry with %s', (_case, value, cause) => {
    expect(tlogEntryOf(value)).toBe(cause);
  });
});

describe('classic layers', () => {
  let ca: Authority;
  let leaf: SigningCertificate;

  beforeAll(async () => {
    ca = await authority('test fulcio');
    leaf = await signingCertificate(ca);
  });

  it("reads a .sig layer's blob as the payload and its annotations as signature, certificate and chain", () => {
    const read = classicSignatureOf(
      layer({
        [SIGNATURE_ANNOTATION]: b64(signature),
        [CERTIFICATE_ANNOTATION]: leaf.pem,
        [CHAIN_ANNOTATION]: ca.pem,
      }),
      Buffer.from('payload'),
    );

    expect(read.discarded).toEqual([]);
    expect(read.value).toMatchObject({
      kind: 'simple signing',
      source: 'sig tag',
      artifact: DIGEST,
      payload: Buffer.from('payload'),
      signatures: [{ bytes: signature }],
    });
    expect(read.value?.kind === 'simple signing' && read.value.signer.certificate?.raw).toEqual(leaf.der);
    expect(read.value?.kind === 'simple signing' && read.value.signer.chain.map((c) => c.raw)).toEqual([
      ca.der,
    ]);
  });

  it('discards a .sig layer without a signature annotation, naming its blob', () => {
    expect(classicSignatureOf(layer(), Buffer.from('p'))).toEqual({
      discarded: [
        {
          source: 'sig tag',
          reason: 'malformed signature',
          cause: 'no signature annotation',
          subject: DIGEST,
          count: 1,
        },
      ],
    });
  });

  it('keeps a signature whose certificate annotation cannot be read, without a certificate', () => {
    const read = classicSignatureOf(
      layer({ [SIGNATURE_ANNOTATION]: b64(signature), [CERTIFICATE_ANNOTATION]: 'not a certificate' }),
      Buffer.from('p'),
    );

    expect(read.value?.kind === 'simple signing' && read.value.signer.certificate).toBeUndefined();
    expect(read.discarded.map((d) => d.reason)).toEqual(['malformed certificate']);
  });

  it('reads at most 10 chain certificates, counting the rest without parsing them', () => {
    const read = classicSignatureOf(
      layer({
        [SIGNATURE_ANNOTATION]: b64(signature),
        [CHAIN_ANNOTATION]: Array(25).fill(ca.pem).join('\n'),
      }),
      Buffer.from('p'),
    );

    expect(read.value?.kind === 'simple signing' && read.value.signer.chain).toHaveLength(10);
    expect(read.discarded).toEqual([
      { source: 'sig tag', reason: 'certificates over budget', cause: 'over budget', count: 15 },
    ]);
  });

  it('discards an .att layer that is not JSON', () => {
    expect(classicAttestationOf(layer(), Buffer.from('{')).discarded).toEqual([
      { source: 'att tag', reason: 'malformed envelope', cause: 'not JSON', subject: DIGEST, count: 1 },
    ]);
  });

  it("reads an .att layer's envelope, with no log entries", () => {
    const read = classicAttestationOf(
      layer(),
      Buffer.from(JSON.stringify(envelope([{ sig: b64(signature) }]))),
    );

    expect(read.value).toMatchObject({
      kind: 'dsse',
      source: 'att tag',
      tlogEntries: [],
      writtenSignatures: 1,
    });
  });
});

describe('bundleOf', () => {
  let ca: Authority;
  let leaf: SigningCertificate;
  const artifact = digestOf(Buffer.from('bundle manifest'));

  beforeAll(async () => {
    ca = await authority('test fulcio');
    leaf = await signingCertificate(ca);
  });

  const bundle = (
    verificationMaterial: unknown,
    rest: object = { dsseEnvelope: envelope([{ sig: b64(signature) }]) },
  ) => Buffer.from(JSON.stringify({ mediaType: BUNDLE, verificationMaterial, ...rest }));

  it('reads the public key hint of a keyed bundle', () => {
    const read = bundleOf(artifact, bundle({ publicKey: { hint: 'aGludA==' } }));

    expect(read.value).toMatchObject({
      kind: 'dsse',
      source: 'sigstore bundle',
      artifact,
      signer: { keyHint: 'aGludA==' },
    });
  });

  it('reads the leaf of a v0.3 bundle, and the chain of an older one with its leaf first', () => {
    const v3 = bundleOf(artifact, bundle({ certificate: { rawBytes: b64(leaf.der) } })).value;
    const v1 = bundleOf(
      artifact,
      bundle({
        x509CertificateChain: { certificates: [{ rawBytes: b64(leaf.der) }, { rawBytes: b64(ca.der) }] },
      }),
    ).value;

    expect(v3?.kind === 'dsse' && v3.signer.certificate?.raw).toEqual(leaf.der);
    expect(v1?.kind === 'dsse' && [v1.signer.certificate?.raw, ...v1.signer.chain.map((c) => c.raw)]).toEqual(
      [leaf.der, ca.der],
    );
  });

  it('keeps the leaf in its place when an entry of the chain is null or unreadable', () => {
    const nullLeaf = bundleOf(
      artifact,
      bundle({ x509CertificateChain: { certificates: [null, { rawBytes: b64(ca.der) }] } }),
    );
    const junkAfter = bundleOf(
      artifact,
      bundle({
        x509CertificateChain: { certificates: [{ rawBytes: b64(leaf.der) }, null, { rawBytes: 'AAAA' }] },
      }),
    );

    expect(nullLeaf.value?.kind === 'dsse' && nullLeaf.value.signer.certificate).toBeUndefined();
    expect(junkAfter.value?.kind === 'dsse' && junkAfter.value.signer.certificate?.raw).toEqual(leaf.der);
    expect(junkAfter.value?.kind === 'dsse' && junkAfter.value.signer.chain).toEqual([]);
    expect(junkAfter.discarded.map((d) => d.reason)).toEqual([
      'malformed certificate',
      'malformed certificate',
    ]);
  });

  it('reads tlogEntries that are not a list as none, and at most 32 of a list', () => {
    const notAList = bundleOf(artifact, bundle({ tlogEntries: 'x' }));
    const many = bundleOf(
      artifact,
      bundle({ tlogEntries: Array.from({ length: 40 }, () => ({ logIndex: '1' })) }),
    );

    expect(notAList.value?.kind === 'dsse' && notAList.value.tlogEntries).toEqual([]);
    expect(notAList.discarded.map((d) => d.cause)).toEqual(['log entries not a list']);
    expect(many.value?.kind === 'dsse' && many.value.tlogEntries).toHaveLength(32);
    expect(many.discarded).toEqual([
      { source: 'sigstore bundle', reason: 'log entries over budget', cause: 'over budget', count: 8 },
    ]);
  });

  it('reads a bundle over a message signature as one without an envelope', () => {
    expect(bundleOf(artifact, bundle({}, { messageSignature: {} })).value).toEqual({
      kind: 'no envelope',
      source: 'sigstore bundle',
      artifact,
    });
  });

  it.each<[string, Buffer, string]>([
    ['not JSON', Buffer.from('{'), 'not JSON'],
    ['a JSON string', Buffer.from('"bundle"'), 'not an object'],
    ['null', Buffer.from('null'), 'not an object'],
    ['verification material that is a list', bundle([]), 'field of the wrong type'],
  ])('discards a bundle that is %s', (_case, bytes, cause) => {
    expect(bundleOf(artifact, bytes)).toEqual({
      discarded: [
        { source: 'sigstore bundle', reason: 'malformed bundle', cause, subject: artifact, count: 1 },
      ],
    });
  });
});

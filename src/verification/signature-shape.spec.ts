import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { trustedKey } from './trust';
import { fitsKey, isBase64, isEcdsaDer, keysInOrder } from './signature-shape';

const ec = (namedCurve: string) => generateKeyPairSync('ec', { namedCurve });
const p256 = ec('P-256');
const p384 = ec('P-384');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed25519 = generateKeyPairSync('ed25519');

describe(isEcdsaDer.name, () => {
  it('accepts what OpenSSL signs, for every curve cosign uses', () => {
    for (const { privateKey } of [p256, p384, ec('P-521')])
      for (let i = 0; i < 20; i++) expect(isEcdsaDer(sign('sha256', randomBytes(8), privateKey))).toBe(true);
  });

  it.each<[string, Buffer]>([
    ['empty', Buffer.alloc(0)],
    [
      'raw r‖s (IEEE P1363)',
      sign('sha256', Buffer.from('x'), { key: p256.privateKey, dsaEncoding: 'ieee-p1363' }),
    ],
    [
      'a valid signature with a byte after it',
      Buffer.concat([sign('sha256', Buffer.from('x'), p256.privateKey), Buffer.from([0])]),
    ],
    ['a sequence whose length is wrong', Buffer.from('3007020101020101', 'hex')],
    ['a negative r', Buffer.from('3006020180020101', 'hex')],
    ['an r padded with a needless zero', Buffer.from('300702020001020101', 'hex')],
    ['an empty s', Buffer.from('30050201010200', 'hex')],
    ['random bytes', Buffer.from('a1b2c3d4e5f60718', 'hex')],
  ])('refuses %s', (_case, der) => {
    expect(isEcdsaDer(der)).toBe(false);
  });
});

describe(fitsKey.name, () => {
  const p256Signature = sign('sha256', Buffer.from('x'), p256.privateKey);

  it("takes a DER signature for an EC key only when r and s fit the curve's order", () => {
    expect(fitsKey(p256.publicKey, p256Signature)).toBe(true);
    expect(fitsKey(p384.publicKey, p256Signature)).toBe(true);
    expect(fitsKey(p256.publicKey, sign('sha384', Buffer.from('x'), p384.privateKey))).toBe(
      // A P-384 signature's r or s is longer than P-256's order allows, bar a 1-in-2^128 chance.
      false,
    );
  });

  it("takes a signature for an RSA key only at the modulus' length", () => {
    expect(fitsKey(rsa.publicKey, sign('sha256', Buffer.from('x'), rsa.privateKey))).toBe(true);
    expect(fitsKey(rsa.publicKey, randomBytes(255))).toBe(false);
    expect(fitsKey(rsa.publicKey, p256Signature)).toBe(false);
  });

  it('takes 64 bytes for an Ed25519 key, and nothing else', () => {
    expect(fitsKey(ed25519.publicKey, sign(null, Buffer.from('x'), ed25519.privateKey))).toBe(true);
    expect(fitsKey(ed25519.publicKey, p256Signature)).toBe(false);
  });
});

describe(isBase64.name, () => {
  it('accepts standard and URL-safe base64, padded or not', () => {
    expect(['', 'AA==', 'AAA=', '+/8=', '-_8', 'aGVsbG8'].every(isBase64)).toBe(true);
  });

  it('refuses anything else', () => {
    expect(['a b', 'AA===', '{"a":1}', 'AA=A', 'é'].some(isBase64)).toBe(false);
  });
});

describe(keysInOrder.name, () => {
  const pem = (key: typeof p256.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();
  const keys = [
    trustedKey(pem(p256.publicKey), 'a.pub'),
    trustedKey(pem(p384.publicKey), 'b.pub'),
    trustedKey(pem(rsa.publicKey), 'c.pub'),
  ];
  const spkiHash = (key: typeof p256.publicKey) =>
    createHash('sha256')
      .update(key.export({ type: 'spki', format: 'der' }))
      .digest();

  it('puts the key a hint names first, as cosign (base64) or in-toto (hex) write it, keeping the others after', () => {
    expect(keysInOrder(keys, spkiHash(rsa.publicKey).toString('base64')).map((k) => k.source)).toEqual([
      'c.pub',
      'a.pub',
      'b.pub',
    ]);
    expect(keysInOrder(keys, spkiHash(p384.publicKey).toString('hex')).map((k) => k.source)).toEqual([
      'b.pub',
      'a.pub',
      'c.pub',
    ]);
  });

  it('keeps the order of the policy without a hint, or with one that names no trusted key', () => {
    expect(keysInOrder(keys, undefined)).toBe(keys);
    expect(keysInOrder(keys, 'ci')).toBe(keys);
  });
});

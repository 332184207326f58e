import { KeyObject, createHash } from 'node:crypto';
import type { TrustedKey } from './trust';

// What a signature must look like before any cryptography is spent on it. `crypto.verify` hashes
// the whole signed payload before it even reads the signature, so an empty or malformed signature
// over a large payload costs as much as a real one: these checks refuse it first, for free.

/** An RSA-8192 signature; nothing longer is any signature cosign or sigstore makes. */
export const MAX_SIGNATURE_BYTES = 1024;
const ED25519_BYTES = 64;
const ED448_BYTES = 114;
/** The byte length of each curve's order, which bounds an ECDSA signature's r and s. */
const CURVE_ORDER_BYTES: Readonly<Record<string, number>> = {
  prime256v1: 32,
  secp384r1: 48,
  secp521r1: 66,
};
const LARGEST_ORDER_BYTES = 66;

/** Standard or URL-safe base64, padded or not, as protobuf's JSON form accepts bytes. */
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export const isBase64 = (text: string): boolean => BASE64.test(text);

/** The length of a DER INTEGER's content at `offset`, or -1 when it is not a positive minimal one. */
function derInteger(der: Buffer, offset: number, maxBytes: number): number {
  if (der[offset] !== 0x02) return -1;
  const length = der[offset + 1];
  if (length === undefined || length === 0 || length > maxBytes + 1 || offset + 2 + length > der.length)
    return -1;
  const first = der[offset + 2];
  // Negative, or padded with a zero byte that the next byte does not need.
  if (first & 0x80) return -1;
  if (first === 0 && length > 1 && !(der[offset + 3] & 0x80)) return -1;
  return length;
}

/** Whether `der` is exactly an ECDSA-Sig-Value (SEQUENCE of r and s) for an order of `orderBytes`. */
export function isEcdsaDer(der: Buffer, orderBytes = LARGEST_ORDER_BYTES): boolean {
  if (der.length < 8 || der[0] !== 0x30) return false;
  let offset = 2;
  let length = der[1];
  if (length === 0x81) {
    length = der[2];
    offset = 3;
    if (length < 0x80) return false;
  } else if (length & 0x80) return false;
  if (offset + length !== der.length) return false;
  const r = derInteger(der, offset, orderBytes);
  if (r < 0) return false;
  const s = derInteger(der, offset + 2 + r, orderBytes);
  return s >= 0 && offset + 2 + r + 2 + s === der.length;
}

/**
 * Whether `signature` has the form `key` makes: DER (or, as JOSE and COSE write it, r‖s) with r and
 * s no longer than the curve's order, the modulus' length for RSA, 64 or 114 bytes for EdDSA.
 * Unknown key types are left to OpenSSL.
 */
export function fitsKey(key: KeyObject, signature: Buffer, encoding: 'der' | 'ieee-p1363' = 'der'): boolean {
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const order = CURVE_ORDER_BYTES[details?.namedCurve ?? ''];
      // JOSE and COSE write r‖s, each exactly as long as the curve's order.
      if (encoding === 'ieee-p1363') return order !== undefined && signature.length === 2 * order;
      return isEcdsaDer(signature, order ?? LARGEST_ORDER_BYTES);
    }
    case 'rsa':
    case 'rsa-pss':
      return (
        details?.modulusLength === undefined || signature.length === Math.ceil(details.modulusLength / 8)
      );
    case 'ed25519':
      return signature.length === ED25519_BYTES;
    case 'ed448':
      return signature.length === ED448_BYTES;
    default:
      return true;
  }
}

const hintsByKey = new WeakMap<KeyObject, ReadonlySet<string>>();

/**
 * How signers name a key: cosign and sigstore-go write the base64 SHA-256 of its
 * SubjectPublicKeyInfo as a bundle's `publicKey.hint`; in-toto tools write it in hex as a DSSE
 * `keyid`. Computed once per key.
 * https://github.com/sigstore/cosign/blob/main/internal/key/svkeypair.go
 */
function hintsOf(key: KeyObject): ReadonlySet<string> {
  let hints = hintsByKey.get(key);
  if (!hints) {
    const digest = createHash('sha256')
      .update(key.export({ type: 'spki', format: 'der' }))
      .digest();
    hints = new Set([digest.toString('base64'), digest.toString('hex')]);
    hintsByKey.set(key, hints);
  }
  return hints;
}

/**
 * The trusted keys in the order to try them: the one `hint` names first. A hint is the signer's
 * word, so the others are still tried after it (cosign's own `keyid`s are mostly empty).
 */
export function keysInOrder(keys: readonly TrustedKey[], hint: string | undefined): readonly TrustedKey[] {
  if (!hint || keys.length < 2) return keys;
  const named = keys.findIndex(({ key }) => hintsOf(key).has(hint));
  return named <= 0 ? keys : [keys[named], ...keys.slice(0, named), ...keys.slice(named + 1)];
}

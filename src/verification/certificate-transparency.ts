import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { Certificate, Extensions, TBSCertificate } from '@peculiar/asn1-x509';
import { X509Certificate, createHash, verify as cryptoVerify } from 'node:crypto';
import { TrustedCtLog, withinWindow } from './trust';

// Certificate transparency for keyless signing certificates: Fulcio logs each certificate it issues
// to a CT log and embeds the log's promise (an SCT) in it, so a certificate the trusted root's CT
// logs never saw cannot be used unnoticed. RFC 6962 §3.2 (what an SCT signs) and §3.3 (how it is
// embedded); sigstore-go's pkg/verify/sct.go and sigstore-js's packages/verify/src/key/sct.ts are
// what sigstore's own verifiers do.

/** The X.509v3 extension that carries a SignedCertificateTimestampList (RFC 6962 §3.3). */
export const SCT_LIST_EXTENSION = '1.3.6.1.4.1.11129.2.4.2';

/**
 * SCTs from how many distinct trusted CT logs a signing certificate needs: one, the threshold
 * sigstore-go's verifier is given by cosign (`WithSignedCertificateTimestamps(1)`) and in its own
 * documentation, and sigstore-js's default `ctlogThreshold`. Fulcio embeds one.
 */
export const SCT_THRESHOLD = 1;

/**
 * How many embedded SCTs are read; any beyond are not looked at. Fulcio embeds one and browsers'
 * CT policies ask for two or three, so this bounds the signatures checked per certificate without
 * missing an honest one.
 */
export const MAX_SCTS = 16;

const SHA256 = 4;
const SIGNATURE_ALGORITHMS: Readonly<Record<number, string>> = { 1: 'rsa', 3: 'ec' };

/** One SCT as RFC 6962 §3.2 encodes it (TLS presentation language), its fields as they were signed. */
interface SignedCertificateTimestamp {
  readonly version: number;
  readonly logId: string;
  readonly timestamp: Buffer;
  readonly extensions: Buffer;
  readonly hashAlgorithm: number;
  readonly signatureAlgorithm: number;
  readonly signature: Buffer;
}

/** What the SCTs of a certificate signed: its TBSCertificate without the SCT list extension. */
interface EmbeddedScts {
  readonly precertificate: Buffer;
  readonly scts: readonly SignedCertificateTimestamp[];
}

class UnreadableScts extends Error {}

const parsed = new WeakMap<X509Certificate, Certificate | null>();

/**
 * `certificate` as @peculiar/asn1-x509 reads it, or undefined when it cannot: parsed once per
 * certificate object (the chain checks and the SCT check share it, and a trusted authority's is
 * kept as long as the policy that holds it). Never changed by its readers.
 */
export function asn1Certificate(certificate: X509Certificate): Certificate | undefined {
  let read = parsed.get(certificate);
  if (read === undefined) {
    try {
      read = AsnConvert.parse(certificate.raw, Certificate);
    } catch {
      read = null;
    }
    parsed.set(certificate, read);
  }
  return read ?? undefined;
}

/** Reads TLS-encoded fields in order; running past the end means the encoding is broken. */
class TlsReader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset === this.bytes.length;
  }

  take(length: number): Buffer {
    if (this.offset + length > this.bytes.length) throw new UnreadableScts('truncated');
    const taken = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return taken;
  }

  uint8(): number {
    return this.take(1)[0];
  }

  /** An `opaque<0..2^16-1>`: a two-byte length, then that many bytes. */
  vector16(): Buffer {
    return this.take(this.take(2).readUInt16BE(0));
  }
}

function parseSct(bytes: Buffer): SignedCertificateTimestamp {
  const reader = new TlsReader(bytes);
  const sct = {
    version: reader.uint8(),
    logId: reader.take(32).toString('hex'),
    timestamp: reader.take(8),
    extensions: reader.vector16(),
    hashAlgorithm: reader.uint8(),
    signatureAlgorithm: reader.uint8(),
    signature: reader.vector16(),
  };
  if (!reader.done) throw new UnreadableScts('an SCT has trailing bytes');
  return sct;
}

/**
 * The SCTs `certificate` embeds, at most MAX_SCTS of them, or undefined when it carries no SCT
 * list. Throws UnreadableScts when the list or the certificate cannot be read as RFC 6962 says.
 */
function embeddedScts(certificate: X509Certificate): EmbeddedScts | undefined {
  const read = asn1Certificate(certificate);
  if (!read) throw new UnreadableScts('the certificate cannot be read');
  const { tbsCertificate } = read;
  const extensions = tbsCertificate.extensions ?? [];
  const lists = extensions.filter((extension) => extension.extnID === SCT_LIST_EXTENSION);
  if (lists.length === 0) return undefined;
  if (lists.length > 1) throw new UnreadableScts('the certificate has more than one SCT list');
  let list: Buffer;
  try {
    list = Buffer.from(AsnConvert.parse(lists[0].extnValue.buffer, OctetString).buffer);
  } catch {
    throw new UnreadableScts('the SCT list is not an OCTET STRING');
  }
  const reader = new TlsReader(list);
  const entries = new TlsReader(reader.vector16());
  if (!reader.done) throw new UnreadableScts('the SCT list has trailing bytes');
  const scts: SignedCertificateTimestamp[] = [];
  while (!entries.done && scts.length < MAX_SCTS) scts.push(parseSct(entries.vector16()));
  // What the log signed is re-encoded from the parse, as DER: a certificate whose own encoding
  // differs (BER, say) gets a precertificate no log signed, and its SCTs do not verify.
  const precertificate = new TBSCertificate({
    ...tbsCertificate,
    extensions: new Extensions(extensions.filter((extension) => extension !== lists[0])),
  });
  return { precertificate: Buffer.from(AsnConvert.serialize(precertificate)), scts };
}

const uint = (value: number, bytes: number): Buffer => {
  const encoded = Buffer.alloc(bytes);
  encoded.writeUIntBE(value, 0, bytes);
  return encoded;
};

/** RFC 6962 §3.2's `digitally-signed struct` of an SCT over a precertificate entry. */
function signedData(sct: SignedCertificateTimestamp, precertificate: Buffer, issuerKeyHash: Buffer): Buffer {
  return Buffer.concat([
    uint(sct.version, 1),
    uint(0, 1), // signature_type: certificate_timestamp
    sct.timestamp,
    uint(1, 2), // entry_type: precert_entry
    issuerKeyHash,
    uint(precertificate.length, 3),
    precertificate,
    uint(sct.extensions.length, 2),
    sct.extensions,
  ]);
}

const sctTime = (sct: SignedCertificateTimestamp): Date => new Date(Number(sct.timestamp.readBigUInt64BE(0)));

/** Why this SCT does not count, or undefined when a trusted log signed it over this certificate. */
function sctRefusal(
  sct: SignedCertificateTimestamp,
  embedded: EmbeddedScts,
  issuerKeyHash: Buffer,
  logs: readonly TrustedCtLog[],
): string | undefined {
  if (sct.version !== 0) return 'not an RFC 6962 v1 SCT';
  const log = logs.find((candidate) => candidate.logId === sct.logId);
  if (!log) return 'by a log the trusted root does not list';
  if (!withinWindow(log, sctTime(sct))) return "dated outside its log's validFor";
  if (
    sct.hashAlgorithm !== SHA256 ||
    SIGNATURE_ALGORITHMS[sct.signatureAlgorithm] !== log.key.asymmetricKeyType
  )
    return "not signed with its log's algorithm";
  try {
    const data = signedData(sct, embedded.precertificate, issuerKeyHash);
    if (cryptoVerify('sha256', data, log.key, sct.signature)) return undefined;
  } catch {
    // A malformed signature is simply one that does not verify.
  }
  return 'its signature does not verify over this certificate';
}

/**
 * Why `leaf` does not carry what certificate transparency asks of it, or undefined when SCTs by
 * SCT_THRESHOLD distinct trusted CT logs verify over it. `issuer` is the certificate that issued
 * `leaf` on the verified chain: an SCT signs a hash of its key too, so an SCT made for the same
 * certificate under another issuer does not count. An SCT that does not verify is passed over,
 * as sigstore-go does, and counts toward nothing.
 */
export function sctProblem(
  leaf: X509Certificate,
  issuer: X509Certificate,
  logs: readonly TrustedCtLog[],
): string | undefined {
  let embedded: EmbeddedScts | undefined;
  try {
    embedded = embeddedScts(leaf);
  } catch (error) {
    if (!(error instanceof UnreadableScts)) throw error;
    return `the signing certificate's signed certificate timestamps cannot be read: ${error.message}`;
  }
  if (embedded === undefined || embedded.scts.length === 0)
    return "the signing certificate carries no signed certificate timestamp, which the trusted root's CT logs require";
  const issuerKeyHash = createHash('sha256')
    .update(issuer.publicKey.export({ type: 'spki', format: 'der' }))
    .digest();
  const verifiedBy = new Set<string>();
  const refusals = new Set<string>();
  for (const sct of embedded.scts) {
    if (verifiedBy.has(sct.logId)) continue;
    const refusal = sctRefusal(sct, embedded, issuerKeyHash, logs);
    if (refusal !== undefined) refusals.add(refusal);
    else if (verifiedBy.add(sct.logId).size >= SCT_THRESHOLD) return undefined;
  }
  return `no signed certificate timestamp of the signing certificate verifies with a trusted CT log (${[...refusals].join('; ')})`;
}

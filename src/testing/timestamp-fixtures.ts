import {
  Attribute,
  CertificateChoices,
  CertificateSet,
  ContentInfo,
  DigestAlgorithmIdentifiers,
  EncapsulatedContent,
  EncapsulatedContentInfo,
  IssuerAndSerialNumber,
  SignedData,
  SignerIdentifier,
  SignerInfo,
  SignerInfos,
  id_signedData,
} from '@peculiar/asn1-cms';
import {
  AsnArray,
  AsnConvert,
  AsnProp,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate } from '@peculiar/asn1-x509';
import {
  MessageImprint,
  PKIStatus,
  PKIStatusInfo,
  TSTInfo,
  TimeStampResp,
  id_ct_tstInfo,
} from '@peculiar/asn1-tsp';
import * as x509 from '@peculiar/x509';
import {
  KeyObject,
  X509Certificate,
  createHash,
  createPrivateKey,
  randomBytes,
  sign,
  webcrypto,
} from 'node:crypto';
import { Authority, EC, HOUR, authority } from './cosign-fixtures';

// RFC 3161 timestamps made in-process, written from RFC 3161, RFC 5652 and RFC 5035 rather than
// taken from the verifier: a TSA (a root and a signing certificate with the critical timeStamping
// usage, as sigstore's timestamp-authority and notation require) and its responses.

const SHA256 = '2.16.840.1.101.3.4.2.1';
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

@AsnType({ type: AsnTypeTypes.Choice })
class Oid {
  @AsnProp({ type: AsnPropTypes.ObjectIdentifier })
  value = '';

  constructor(value = '') {
    this.value = value;
  }
}

@AsnType({ type: AsnTypeTypes.Set, itemType: Attribute })
class AttributeSet extends AsnArray<Attribute> {}

@AsnType({ type: AsnTypeTypes.Sequence })
class CertIdV2 {
  @AsnProp({ type: OctetString })
  certHash = new OctetString();

  constructor(certHash = new OctetString()) {
    this.certHash = certHash;
  }
}

@AsnType({ type: AsnTypeTypes.Sequence, itemType: CertIdV2 })
class CertIdsV2 extends AsnArray<CertIdV2> {}

@AsnType({ type: AsnTypeTypes.Sequence })
class SigningCertificateV2 {
  @AsnProp({ type: CertIdsV2 })
  certs = new CertIdsV2();

  constructor(certs = new CertIdsV2()) {
    this.certs = certs;
  }
}

export interface TimestampAuthority {
  readonly root: Authority;
  readonly certificate: x509.X509Certificate;
  readonly der: Buffer;
  readonly pem: string;
  readonly node: X509Certificate;
  readonly privateKey: KeyObject;
  /** The signing certificate then the root, as a TSA chain file lists them. */
  readonly chainPem: string;
}

/** How a TSA's signing certificate departs from RFC 3161's, for the attacks. */
export interface TimestampAuthorityOptions {
  /** Its extended key usages; timeStamping alone by default. */
  readonly usages?: string[];
  /** Whether that extension is critical; true by default. */
  readonly critical?: boolean;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Issue it under this root instead of a new one. */
  readonly root?: Authority;
}

export async function timestampAuthority(
  name: string,
  options: TimestampAuthorityOptions = {},
): Promise<TimestampAuthority> {
  const root = options.root ?? (await authority(`${name} root`));
  const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}, O=acme`,
    issuer: root.certificate.subject,
    publicKey: keys.publicKey,
    signingKey: root.keys.privateKey,
    signingAlgorithm: EC,
    serialNumber: `01${randomBytes(8).toString('hex')}`,
    notBefore: options.notBefore ?? new Date(now - 24 * HOUR),
    notAfter: options.notAfter ?? new Date(now + 24 * HOUR),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(options.usages ?? [TIME_STAMPING], options.critical ?? true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root.keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const pem = certificate.toString('pem');
  const der = Buffer.from(certificate.rawData);
  return {
    root,
    certificate,
    der,
    pem,
    node: new X509Certificate(der),
    privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }),
    chainPem: `${pem}\n${root.pem}\n`,
  };
}

export interface TimestampOptions {
  /** When the TSA says it stamped; now by default. */
  readonly genTime?: Date;
  /** Stamp these bytes instead of the ones given: a timestamp over another signature. */
  readonly over?: Buffer;
  /** Carry the TSA's certificate in the token (certReq); true by default. */
  readonly includeCertificate?: boolean;
  /** The ESS signing-certificate-v2 attribute; true by default, as RFC 5816 TSAs write it. */
  readonly signingCertificate?: boolean;
  /** Sign with this key instead of the TSA's: a forged timestamp. */
  readonly signedBy?: KeyObject;
  /** The bare TimeStampToken, as notation stores it, instead of a TimeStampResp, as sigstore does. */
  readonly tokenOnly?: boolean;
}

/** An RFC 3161 response of `tsa` over `stamped` (the bytes of a signature). */
export function timestampOver(
  tsa: TimestampAuthority,
  stamped: Buffer,
  options: TimestampOptions = {},
): Buffer {
  const sha256 = (bytes: Buffer | ArrayBuffer): Buffer =>
    createHash('sha256')
      .update(Buffer.from(bytes as ArrayBuffer))
      .digest();
  const leaf = AsnConvert.parse(tsa.der, Certificate);
  const tstInfo = Buffer.from(
    AsnConvert.serialize(
      new TSTInfo({
        version: 1,
        policy: '1.3.6.1.4.1.57264.2',
        messageImprint: new MessageImprint({
          hashAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256 }),
          hashedMessage: new OctetString(sha256(options.over ?? stamped)),
        }),
        serialNumber: new Uint8Array(randomBytes(8)).buffer,
        genTime: options.genTime ?? new Date(Math.floor(Date.now() / 1000) * 1000),
      }),
    ),
  );
  const attribute = (attrType: string, value: ArrayBuffer): Attribute =>
    new Attribute({ attrType, attrValues: [value] });
  const attributes = [
    attribute('1.2.840.113549.1.9.3', AsnConvert.serialize(new Oid(id_ct_tstInfo))),
    attribute('1.2.840.113549.1.9.4', AsnConvert.serialize(new OctetString(sha256(tstInfo)))),
    ...(options.signingCertificate === false
      ? []
      : [
          attribute(
            '1.2.840.113549.1.9.16.2.47',
            AsnConvert.serialize(
              new SigningCertificateV2(new CertIdsV2([new CertIdV2(new OctetString(sha256(tsa.der)))])),
            ),
          ),
        ]),
  ];
  const signedAttributes = Buffer.from(AsnConvert.serialize(new AttributeSet(attributes)));
  const signerInfo = new SignerInfo({
    version: 1,
    sid: new SignerIdentifier({
      issuerAndSerialNumber: new IssuerAndSerialNumber({
        issuer: leaf.tbsCertificate.issuer,
        serialNumber: leaf.tbsCertificate.serialNumber,
      }),
    }),
    digestAlgorithm: new AlgorithmIdentifier({ algorithm: SHA256 }),
    signedAttrs: attributes,
    signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_WITH_SHA256 }),
    signature: new OctetString(sign('sha256', signedAttributes, options.signedBy ?? tsa.privateKey)),
  });
  const signedData = new SignedData({
    version: 3,
    digestAlgorithms: new DigestAlgorithmIdentifiers([new AlgorithmIdentifier({ algorithm: SHA256 })]),
    encapContentInfo: new EncapsulatedContentInfo({
      eContentType: id_ct_tstInfo,
      eContent: new EncapsulatedContent({ single: new OctetString(tstInfo) }),
    }),
    ...(options.includeCertificate === false
      ? {}
      : { certificates: new CertificateSet([new CertificateChoices({ certificate: leaf })]) }),
    signerInfos: new SignerInfos([signerInfo]),
  });
  const token = new ContentInfo({ contentType: id_signedData, content: AsnConvert.serialize(signedData) });
  if (options.tokenOnly) return Buffer.from(AsnConvert.serialize(token));
  return Buffer.from(
    AsnConvert.serialize(
      new TimeStampResp({ status: new PKIStatusInfo({ status: PKIStatus.granted }), timeStampToken: token }),
    ),
  );
}

import type { X509Certificate } from 'node:crypto';
import { asn1Certificate } from './certificate-transparency';

// Notary Project trusted identities: `x509.subject: C=US, ST=WA, O=Acme, CN=release`, matched as
// notation-go matches them. A distinguished name is a map of attribute type to value (RFC 4514,
// one attribute per RDN, each type once, `S` an alias of `ST`), which must name C, ST and O; a
// certificate carries an identity when every attribute the identity names is in its subject with
// the same value.
// https://github.com/notaryproject/specifications/blob/main/specs/trust-store-trust-policy.md#trusted-identities-constraints

export const X509_SUBJECT = 'x509.subject:';

/** A distinguished name as attribute type → value, types in upper case. */
export type DistinguishedName = ReadonlyMap<string, string>;

const MANDATORY = ['C', 'ST', 'O'] as const;

/** Short names Go's pkix.Name.String() writes, by attribute type OID. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.6': 'C',
  '2.5.4.8': 'ST',
  '2.5.4.7': 'L',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.3': 'CN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.9': 'STREET',
  '2.5.4.17': 'POSTALCODE',
};

export class DistinguishedNameError extends Error {
  override name = 'DistinguishedNameError';
}

/** Splits on an unescaped `separator`, unescaping RFC 4514's `\,` `\;` `\\` `\ ` `\+` `\=` `\"`. */
function split(text: string, separator: string): { parts: string[]; multiValued: boolean } {
  const parts: string[] = [];
  let current = '';
  let multiValued = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && i + 1 < text.length) {
      current += `\\${text[++i]}`;
      continue;
    }
    if (char === '+') multiValued = true;
    if (char === separator) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  parts.push(current);
  return { parts, multiValued };
}

const unescape = (value: string): string => value.replace(/\\(.)/g, '$1');

/** The map of a distinguished name as a trust policy writes it, or a DistinguishedNameError saying why not. */
export function parseDistinguishedName(text: string): DistinguishedName {
  const { parts, multiValued } = split(text, ',');
  if (multiValued)
    throw new DistinguishedNameError(`"${text}" has a multi-valued RDN, which is not supported`);
  const name = new Map<string, string>();
  for (const part of parts) {
    const equals = part.indexOf('=');
    if (equals <= 0) throw new DistinguishedNameError(`"${text}" is not a distinguished name`);
    let type = part.slice(0, equals).trim().toUpperCase();
    if (type === 'S') type = 'ST';
    const value = unescape(part.slice(equals + 1).trim());
    if (value === '') throw new DistinguishedNameError(`"${text}" has an empty ${type}`);
    if (name.has(type)) throw new DistinguishedNameError(`"${text}" names ${type} twice`);
    name.set(type, value);
  }
  for (const type of MANDATORY)
    if (!name.has(type))
      throw new DistinguishedNameError(`"${text}" must name C, ST and O (it has no ${type})`);
  return name;
}

/**
 * A certificate's subject as a distinguished name, or undefined when notation could not read it as
 * one: an RDN with several attributes, a type twice, or C, ST or O missing.
 */
export function subjectName(certificate: X509Certificate): DistinguishedName | undefined {
  const read = asn1Certificate(certificate);
  if (!read) return undefined;
  const name = new Map<string, string>();
  for (const rdn of read.tbsCertificate.subject) {
    if (rdn.length !== 1) return undefined;
    const [attribute] = rdn;
    const type = SHORT_NAMES[attribute.type] ?? attribute.type;
    if (name.has(type)) return undefined;
    name.set(type, attribute.value.toString());
  }
  return MANDATORY.every((type) => name.has(type)) ? name : undefined;
}

/** Whether every attribute of `identity` is in `subject` with the same value. */
export const isSubsetName = (identity: DistinguishedName, subject: DistinguishedName): boolean =>
  [...identity].every(([type, value]) => subject.get(type) === value);

/** How a distinguished name is shown and compared: its attributes in order, `TYPE=value`. */
export const nameText = (name: DistinguishedName): string =>
  [...name].map(([type, value]) => `${type}=${value}`).join(', ');

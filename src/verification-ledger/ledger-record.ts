import { createHmac, timingSafeEqual } from 'node:crypto';

// One line of the ledger file: `<HMAC-SHA256 of the JSON, hex> <JSON>\n`. Everything read back is
// hostile until its checksum verifies under the ledger's key, and is then parsed into the shapes
// below, field by field; a line that does not fit is damage, never a record.

/** The longest line written or read: far above an honest record (about 600 bytes). */
export const MAX_RECORD_BYTES = 2048;
/** The signers a verdict keeps of the evidence that decided it. */
export const MAX_EVIDENCE_PER_RECORD = 4;
const MAX_TEXT = 256;

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,128}$/;
const HEX = /^[0-9a-f]{8,128}$/;
const EVIDENCE_PLACES = ['sig tag', 'att tag', 'sigstore bundle', 'notation signature'] as const;

/** A signature or attestation that verified, by who: what decided the verdict. */
export interface LedgerEvidence {
  readonly where: (typeof EVIDENCE_PLACES)[number];
  readonly verifiedBy?: string;
  /** The digest of the artifact that carried it, where the verifier names one. */
  readonly artifact?: string;
  readonly predicateType?: string;
}

/** What a verified verdict was reached for: the verifier's cache key, field by field, and the rule. */
export interface VerdictSubject {
  readonly registry: string;
  readonly repository: string;
  readonly digest: string;
  readonly check: 'signatures' | 'attestations';
  /** Only for attestations: the predicate type asked for. */
  readonly predicateType?: string;
  /** The hash of the rule's trust material (SignatureTrust.hash). */
  readonly trust: string;
  /** The policy revision (which covers every file the policy names, keys included). */
  readonly revision: string;
  readonly rule: string;
}

export interface VerdictRecord extends VerdictSubject {
  readonly type: 'verdict';
  /**
   * `refused`: the registry answered since, and it did not verify; the verdict before is void (a
   * signature deleted to revoke it, say).
   */
  readonly outcome: 'verified' | 'refused';
  /** When the registry last let it verify (or refused it), in Unix milliseconds. */
  readonly verifiedAt: number;
  readonly evidence: readonly LedgerEvidence[];
}

export interface TagSubject {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string;
}

export interface TagRecord extends TagSubject {
  readonly type: 'tag';
  readonly digest: string;
  /** When the registry last said the tag resolves to the digest, in Unix milliseconds. */
  readonly resolvedAt: number;
}

export type LedgerRecord = VerdictRecord | TagRecord;

/**
 * The key a verdict is found under: the same fields the verifier's cache keys a verdict by, so a
 * record answers exactly the question a cached verdict would. The rule is not part of it: two rules
 * asking the same question of the same trust under the same revision share one answer.
 */
export const verdictKey = (s: Omit<VerdictSubject, 'rule'>): string =>
  [s.revision, s.trust, s.check, s.predicateType ?? '', s.registry, s.repository, s.digest].join('\n');

export const tagKey = (s: TagSubject): string => `${s.registry}/${s.repository}:${s.tag}`;

export const recordKey = (record: LedgerRecord): string =>
  record.type === 'verdict' ? `v\n${verdictKey(record)}` : `t\n${tagKey(record)}`;

/** When a record was last true of the registry. */
export const recordedAt = (record: LedgerRecord): number =>
  record.type === 'verdict' ? record.verifiedAt : record.resolvedAt;

const mac = (key: Buffer, json: string): Buffer => createHmac('sha256', key).update(json).digest();

/** The record as one line of the file, checksum first. */
export function encodeRecord(record: LedgerRecord, key: Buffer): string {
  const json = JSON.stringify(record);
  return `${mac(key, json).toString('hex')} ${json}\n`;
}

/** Why a line is damage, not a record. */
export type LineProblem =
  'too long' | 'no checksum' | 'checksum mismatch' | 'not JSON' | 'not a record' | 'field out of bounds';

/** One line (without its newline) back into a record, or why it is not one. */
export function decodeLine(line: string, key: Buffer): LedgerRecord | { problem: LineProblem } {
  if (Buffer.byteLength(line) > MAX_RECORD_BYTES) return { problem: 'too long' };
  const space = line.indexOf(' ');
  const checksum = space === 64 ? line.slice(0, 64) : '';
  if (!/^[0-9a-f]{64}$/.test(checksum)) return { problem: 'no checksum' };
  const json = line.slice(65);
  if (!timingSafeEqual(Buffer.from(checksum, 'hex'), mac(key, json))) return { problem: 'checksum mismatch' };
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { problem: 'not JSON' };
  }
  return parseRecord(value) ?? { problem: 'field out of bounds' };
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown, max = MAX_TEXT): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max;
const time = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value > 0;

function parseEvidence(value: unknown): LedgerEvidence | undefined {
  if (!isObject(value)) return undefined;
  const { where, verifiedBy, artifact, predicateType } = value;
  if (!EVIDENCE_PLACES.includes(where as LedgerEvidence['where'])) return undefined;
  if (verifiedBy !== undefined && !text(verifiedBy)) return undefined;
  if (artifact !== undefined && !(text(artifact, 160) && DIGEST.test(artifact))) return undefined;
  if (predicateType !== undefined && !text(predicateType)) return undefined;
  return {
    where: where as LedgerEvidence['where'],
    ...(verifiedBy === undefined ? {} : { verifiedBy }),
    ...(artifact === undefined ? {} : { artifact }),
    ...(predicateType === undefined ? {} : { predicateType }),
  };
}

/** A record from parsed JSON, field by field, or undefined: what a record may hold and nothing else. */
export function parseRecord(value: unknown): LedgerRecord | undefined {
  if (!isObject(value)) return undefined;
  const { registry, repository, digest } = value;
  if (!text(registry, 255) || !text(repository, 255) || !(text(digest, 160) && DIGEST.test(digest)))
    return undefined;
  if (value.type === 'tag') {
    const { tag, resolvedAt } = value;
    if (!text(tag, 128) || !time(resolvedAt)) return undefined;
    return { type: 'tag', registry, repository, tag, digest, resolvedAt };
  }
  if (value.type !== 'verdict') return undefined;
  const { check, predicateType, trust, revision, rule, outcome, verifiedAt, evidence } = value;
  if (check !== 'signatures' && check !== 'attestations') return undefined;
  if (outcome !== 'verified' && outcome !== 'refused') return undefined;
  if (check === 'attestations' ? !text(predicateType) : predicateType !== undefined) return undefined;
  if (!(text(trust, 128) && HEX.test(trust)) || !(text(revision, 128) && HEX.test(revision)))
    return undefined;
  if (!text(rule, 253) || !time(verifiedAt)) return undefined;
  if (!Array.isArray(evidence) || evidence.length > MAX_EVIDENCE_PER_RECORD) return undefined;
  const parsed = evidence.map(parseEvidence);
  if (parsed.some((item) => item === undefined)) return undefined;
  return {
    type: 'verdict',
    registry,
    repository,
    digest,
    check,
    ...(check === 'attestations' ? { predicateType: predicateType as string } : {}),
    trust,
    revision,
    rule,
    outcome,
    verifiedAt,
    evidence: parsed as LedgerEvidence[],
  };
}

/** An age as a person reads it in a warning: `45s`, `13m`, `2h13m`, `3d4h`. */
export function describeAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${minutes % 60 ? `${minutes % 60}m` : ''}`;
  const days = Math.floor(hours / 24);
  return `${days}d${hours % 24 ? `${hours % 24}h` : ''}`;
}

import type { RegistryFailureReason } from '../registry';
import type { Discard, EvidenceSource } from './evidence';
import { describeIdentity } from './signature-crypto';
import type { TlogProblem } from './transparency-log';
import {
  MAX_ARTIFACTS_PER_IMAGE,
  MAX_CHAIN_CERTIFICATES,
  MAX_SIGNATURES_PER_ENVELOPE,
  MAX_SIGNATURE_CHECKS_PER_REVIEW,
  MAX_SIGNATURE_CHECKS_PER_VERIFICATION,
  MAX_TLOG_ENTRIES_PER_BUNDLE,
  MAX_TIMESTAMPS_PER_SIGNATURE,
  MAX_COSE_ITEMS,
  MAX_COSE_DEPTH,
} from './verification-budgets';
import type {
  ChainProblem,
  EvidenceProblem,
  Judgement,
  NotationProblem,
  Signer,
  TimestampJudgement,
  VerificationOutcome,
} from './verification-outcome';
import { MAX_TIMESTAMP_BYTES, TimestampProblem } from './rfc3161-timestamp';

// The one place verification's codes become the words denials, warnings, `explain` and metrics
// show. Users' scripts and alerts read these: a sentence that exists changes only with its code.

/** The reason a denial gives for a registry that failed while verifying. */
export function registryFailureReason(reason: RegistryFailureReason): string {
  switch (reason) {
    case 'timed out':
      return 'registry timed out';
    case 'unreachable':
      return 'registry unreachable';
    case 'invalid response':
      return 'invalid registry response';
    default:
      return reason;
  }
}

export const NO_TLOG_PROOF = 'no transparency-log inclusion proof';

/** The reason a verdict gives, or undefined for a verified one. */
export function outcomeText(outcome: VerificationOutcome): string | undefined {
  switch (outcome.code) {
    case 'verified':
      return undefined;
    case 'no signature':
    case 'signature for another digest':
    case 'attestation for another digest':
      return outcome.code;
    case 'no tlog proof':
      return NO_TLOG_PROOF;
    case 'no trusted signature':
      return `no signature by ${trustedSigner(outcome.signers)}`;
    case 'no attestation':
      return `no attestation of type ${outcome.predicateType}`;
    case 'no trusted attestation':
      return `no attestation of type ${outcome.predicateType} by ${trustedSigner(outcome.signers)}`;
    case 'registry failure':
      return registryFailureReason(outcome.reason);
    case 'no verified timestamp':
      return NO_VERIFIED_TIMESTAMP;
    case 'no notation signature':
      return 'no Notary Project signature by a trusted identity';
    case 'not enough signers':
      return `not enough trusted signatures (${outcome.counted} of ${outcome.threshold})`;
  }
}

export const NO_VERIFIED_TIMESTAMP = 'no verified timestamp';

const trustedSigner = (signers: 'keys' | 'identities'): string =>
  signers === 'keys' ? 'a trusted key' : 'a trusted identity';

export function tlogProblemText(problem: TlogProblem): string {
  switch (problem.code) {
    case 'unknown log':
      return 'the transparency-log entry is from a log the trusted root does not name';
    case 'no inclusion proof':
      return 'the transparency-log entry has no inclusion proof';
    case 'no body':
      return 'the transparency-log entry has no body';
    case 'body not JSON':
      return 'the transparency-log entry body is not JSON';
    case 'kind not read':
      return `transparency-log entries of kind ${problem.kind} are not read`;
    case 'other envelope':
      return 'the transparency-log entry records another envelope';
    case 'other signer':
      return 'the transparency-log entry records another signer';
    case 'no index or size':
      return 'the inclusion proof has no valid index or tree size';
    case 'proof off its root':
      return 'the inclusion proof does not lead to its root';
    case 'checkpoint not signed':
      return 'the checkpoint is not signed by the log, or states another tree';
    case 'over budget':
      return 'the transparency-log entry was not checked: the budget of signature checks ran out';
  }
}

export function problemText(problem: EvidenceProblem): string {
  switch (problem.code) {
    case 'not asked for':
      return 'not of the kind asked for';
    case 'no tlog proof':
      return problem.classicLayout
        ? `${NO_TLOG_PROOF} (cosign's classic layout carries none)`
        : NO_TLOG_PROOF;
    case 'tlog':
      return tlogProblemText(problem.problem);
    case 'no envelope':
      return 'a bundle without a DSSE envelope';
    case 'payload type':
      return `payload type ${problem.payloadType} is not an in-toto statement`;
    case 'not one signature':
      return `a sigstore bundle's envelope carries ${problem.count} signatures, where it must carry one`;
    case 'untrusted key':
      return 'not signed by a trusted key';
    case 'no certificate':
      return 'no signing certificate';
    case 'certificate':
      return problem.detail;
    case 'certificate key':
      return "the signature does not verify with the certificate's key";
    case 'unchecked':
      return 'not checked: the budget of signature checks ran out';
    case 'payload not JSON':
      return 'the signed payload is not JSON';
    case 'not a cosign signature':
      return 'the signed payload is not a cosign image signature';
    case 'not a statement':
      return 'the signed payload is not an in-toto statement';
    case 'other digest':
      return 'signed, but for another digest';
    case 'predicate type':
      return `predicate type ${String(problem.predicateType)}`;
    case 'no verified timestamp':
      return `${NO_VERIFIED_TIMESTAMP}: the rule requires one by a trusted timestamp authority`;
    case 'notation':
      return notationProblemText(problem.problem);
  }
}

export function notationProblemText(problem: NotationProblem): string {
  switch (problem.code) {
    case 'signing scheme':
      return `the signing scheme ${problem.scheme ?? '(none)'} is not supported (only notary.x509 is)`;
    case 'critical header':
      return `the critical header ${problem.header} is not understood`;
    case 'critical header absent':
      return `the header ${problem.header} is marked critical but absent`;
    case 'header not critical':
      return `the header ${problem.header} is not marked critical`;
    case 'content type':
      return `the content type ${problem.contentType ?? '(none)'} is not the Notary Project payload's`;
    case 'no signing time':
      return 'the signature has no signing time';
    case 'algorithm':
      return `the algorithm ${problem.algorithm ?? '(none)'} is not the signing certificate key's`;
    case 'chain':
      return CHAIN_PROBLEM[problem.detail];
    case 'not in trust store':
      return 'no certificate of its chain is in the trust store';
    case 'identity':
      return `the signing certificate's subject (${problem.subject}) is not a trusted identity`;
    case 'expired':
      return `the signature expired at ${problem.expiry.toISOString()}`;
  }
}

const CHAIN_PROBLEM: Readonly<Record<ChainProblem, string>> = {
  unreadable: 'a certificate of its chain cannot be read',
  'too long': 'its certificate chain is longer than five certificates',
  'out of order': 'its certificate chain is not ordered from the signing certificate to a root',
  'no root': 'its certificate chain does not end at a self-signed root',
  'signing certificate':
    'the signing certificate is not fit to sign code (key usage, extended key usage, CA)',
  'issuing certificate': 'an issuing certificate of its chain is not a certificate authority fit to issue',
  'path length': "its chain breaks an issuing certificate's path length constraint",
  'weak key': 'a certificate of its chain has a key shorter than the Notary Project allows',
  sha1: 'a certificate of its chain is signed with SHA-1',
  'not valid now': 'a certificate of its chain is not valid now (and the rule trusts no timestamp authority)',
  'not valid at timestamp': 'a certificate of its chain was not valid at the stamped time',
};

/** One timestamp judged, for `explain`: when and by whom, or why it does not count. */
export function timestampText(judgement: TimestampJudgement): string {
  if ('verified' in judgement) {
    const { time, accuracyMs, authority } = judgement.verified;
    const accuracy = accuracyMs > 0 ? ` (±${accuracyMs} ms)` : '';
    return `timestamp ${time.toISOString()}${accuracy} by ${authority.subject.replace(/\n/g, ', ')}, verified`;
  }
  return `timestamp not counted: ${timestampProblemText(judgement.problem)}`;
}

export function timestampProblemText(problem: TimestampProblem): string {
  switch (problem.code) {
    case 'other signature':
      return 'it stamps another signature';
    case 'not signed':
      return 'its authority did not sign it';
    case 'no signing certificate':
      return "its authority's certificate is neither in it nor trusted";
    case 'signing certificate attribute':
      return 'its signing-certificate attribute does not name the certificate that signed it';
    case 'not for timestamping':
      return 'it is signed by a certificate that is not for timestamping alone (RFC 3161 §2.3)';
    case 'untrusted authority':
      return `it is by an authority the rule does not trust (${problem.detail})`;
    case 'over budget':
      return 'not checked: the budget of signature checks ran out';
  }
}

export function signerText(signer: Signer): string {
  if ('key' in signer) return `key ${signer.key.fingerprint} (${signer.key.source})`;
  if ('notation' in signer)
    return `Notary Project identity ${signer.notation.subject.replace(/\n/g, ', ')} (${signer.format})`;
  return describeIdentity(signer.certificate);
}

export const MALFORMED_ARTIFACT = 'malformed artifact';

/** What was discarded, in a sentence that follows "malformed artifact: ". */
function discardSentence({ source, reason, cause, count }: Discard): string {
  switch (reason) {
    case 'artifacts over budget':
      return `${count} past the budget of ${MAX_ARTIFACTS_PER_IMAGE} artifacts per image, not read`;
    case 'signatures over budget':
      return `${count} signatures past the budget of ${MAX_SIGNATURES_PER_ENVELOPE} per envelope, not read`;
    case 'log entries over budget':
      return `${count} transparency-log entries past the budget of ${MAX_TLOG_ENTRIES_PER_BUNDLE} per bundle, not read`;
    case 'timestamps over budget':
      return `${count} timestamps past the budget of ${MAX_TIMESTAMPS_PER_SIGNATURE} per signature, not read`;
    case 'malformed timestamp':
      return `a timestamp ${CAUSE[cause]}`;
    case 'certificates over budget':
      return `${count} chain certificates past the budget of ${MAX_CHAIN_CERTIFICATES} per signature, not read`;
    case 'signature checks over budget':
      return `${count} signatures not checked: the budget of ${MAX_SIGNATURE_CHECKS_PER_VERIFICATION} signature checks per verification (${MAX_SIGNATURE_CHECKS_PER_REVIEW} per review) ran out`;
    case 'unreadable artifact':
      return 'an artifact the registry did not serve';
    case 'malformed descriptor':
      return `a descriptor ${CAUSE[cause]}`;
    case 'malformed manifest':
      return `a manifest ${CAUSE[cause]}`;
    case 'malformed envelope':
      return `${source === 'notation signature' ? 'a Notary Project envelope' : 'a DSSE envelope'} ${CAUSE[cause]}`;
    case 'malformed bundle':
      return `a sigstore bundle ${CAUSE[cause]}`;
    case 'malformed signature':
      return cause === 'no signature annotation'
        ? 'a layer without a signature annotation'
        : `a signature ${CAUSE[cause]}`;
    case 'malformed certificate':
      return `a certificate ${CAUSE[cause]}`;
    case 'malformed log entry':
      return cause === 'log entries not a list'
        ? 'transparency-log entries that are not a list'
        : `a transparency-log entry ${CAUSE[cause]}`;
  }
}

const CAUSE: Readonly<Record<Discard['cause'], string>> = {
  'not an object': 'that is not a JSON object',
  'not JSON': 'that is not JSON',
  'no sha256 digest': 'without a sha256 digest',
  'field of the wrong type': 'with a field of the wrong type',
  'layers not a list': 'whose layers are not a list',
  'referrers not a list': 'whose manifests are not a list',
  'no signature annotation': 'without a signature annotation',
  'no payload': 'without a payload',
  'payload not base64': 'whose payload is not base64',
  'no payload type': 'without a payload type',
  'signatures not a list': 'whose signatures are not a list',
  'empty signature': 'that is empty',
  'signature not base64': 'that is not base64',
  'signature too long': 'longer than any signature',
  'certificate unreadable': 'that cannot be read',
  'log entries not a list': 'that are not a list',
  'proof too long': 'whose inclusion proof is longer than any tree needs',
  'chain not a list': 'chain that is not a list',
  'registry failure': 'the registry would not serve',
  'over budget': 'past its budget',
  'timestamp unreadable': 'that is not an RFC 3161 timestamp',
  'timestamp too long': `longer than ${MAX_TIMESTAMP_BYTES} bytes`,
  'timestamp not granted': 'that its authority did not grant',
  'unsupported algorithm': 'with an algorithm that is not supported',
  'too deeply nested': `of more than ${MAX_COSE_ITEMS} CBOR items or ${MAX_COSE_DEPTH} levels`,
};

const OVER_BUDGET: ReadonlySet<Discard['reason']> = new Set([
  'artifacts over budget',
  'signatures over budget',
  'log entries over budget',
  'certificates over budget',
  'timestamps over budget',
  'signature checks over budget',
]);

/** One evidence row per kind of discard: the same cause met a thousand times is one row, counted. */
export function discardRows(discarded: readonly Discard[]): { where: EvidenceSource; problem: string }[] {
  const rows = new Map<string, Discard>();
  for (const item of discarded) {
    const key = [item.source, item.reason, item.cause, item.subject ?? ''].join('\n');
    const seen = rows.get(key);
    rows.set(key, seen ? { ...seen, count: seen.count + item.count } : item);
  }
  return [...rows.values()].map((item) => {
    const times = item.count > 1 && !OVER_BUDGET.has(item.reason) ? ` (${item.count} times)` : '';
    const subject = item.subject ? ` (${item.subject})` : '';
    return {
      where: item.source,
      problem: `${MALFORMED_ARTIFACT}: ${discardSentence(item)}${subject}${times}`,
    };
  });
}

/** One judged piece of evidence as explanations list it. */
export function judgementRow(judgement: Judgement): {
  where: EvidenceSource;
  verifiedBy?: string;
  problem?: string;
  predicateType?: string;
  timestamps?: string[];
} {
  return {
    where: judgement.source,
    ...(judgement.signer ? { verifiedBy: signerText(judgement.signer) } : {}),
    ...(judgement.problem ? { problem: problemText(judgement.problem) } : {}),
    ...(judgement.predicateType !== undefined ? { predicateType: judgement.predicateType } : {}),
    ...(judgement.timestamps?.length ? { timestamps: judgement.timestamps.map(timestampText) } : {}),
  };
}

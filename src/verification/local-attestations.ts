import { registryDeadline } from '../registry';
import type { EnvelopeArtifact } from './evidence';
import { isObject, envelopeOf } from './evidence-parser';
import { conclude, judgeArtifacts, signerTally } from './evidence-verifier';
import type {
  EvidenceReport,
  VerificationRequest,
  VerificationResult,
  VerifiedAttestation,
} from './image-verifier.service';
import { SignatureTrust, TrustedKey, trustHash } from './trust';
import { ReviewBudget, VerificationBudget } from './verification-budgets';
import { discardRows, judgementRow, outcomeText } from './verification-words';

// Attestations from files, for policy tests (`kube-image-bouncer test`) that judge conditions in CI
// without a registry: an in-toto statement, taken as verified because the suite's author wrote it,
// or a DSSE envelope (`cosign download attestation` writes one per line), which is judged exactly
// as one read from a registry is, with the suite's key or the rule's own trust.

/** One attestation a test names. */
export type LocalAttestation =
  | { readonly file: string; readonly statement: Readonly<Record<string, unknown>> }
  | { readonly file: string; readonly envelope: unknown; readonly key?: TrustedKey };

/** How long judging a file's envelope may take: there is no registry to wait for. */
const LOCAL_DEADLINE_MS = 10_000;

const statementSubjects = (statement: Readonly<Record<string, unknown>>): string[] =>
  (Array.isArray(statement.subject) ? (statement.subject as unknown[]) : []).flatMap((subject) => {
    const digests = isObject(subject) && isObject(subject.digest) ? subject.digest : undefined;
    return typeof digests?.sha256 === 'string' ? [`sha256:${digests.sha256}`] : [];
  });

/**
 * What a verifyAttestations rule would have found, had the registry held these files: the digest
 * is the image's, or (for an image written by tag) the first subject the files name.
 */
export async function verifyLocalAttestations(
  attestations: readonly LocalAttestation[],
  request: Extract<VerificationRequest, { kind: 'attestations' }>,
  imageDigest: string | undefined,
): Promise<Omit<VerificationResult, 'cache' | 'ms'>> {
  const evidence: EvidenceReport[] = [];
  const verified: VerifiedAttestation[] = [];
  const digest =
    imageDigest ??
    attestations
      .flatMap((a) => ('statement' in a ? statementSubjects(a.statement) : []))
      .concat(attestations.flatMap((a) => ('envelope' in a ? envelopeSubjects(a.envelope) : [])))[0] ??
    '';
  let anyOfType = false;
  let otherDigest = false;
  for (const attestation of attestations) {
    if ('statement' in attestation) {
      const { statement, file } = attestation;
      const predicateType = typeof statement.predicateType === 'string' ? statement.predicateType : undefined;
      if (predicateType !== request.predicateType) continue;
      anyOfType = true;
      if (!statementSubjects(statement).includes(digest)) {
        otherDigest = true;
        evidence.push({
          where: 'attestation file',
          problem: `${file}: signed, but for another digest`,
          predicateType,
        });
        continue;
      }
      evidence.push({ where: 'attestation file', verifiedBy: `the statement file ${file}`, predicateType });
      // A statement file stands in for one signer of its own: a policy test names what it trusts.
      const stands = `the statement file ${file}`;
      verified.push({
        where: 'attestation file',
        verifiedBy: stands,
        predicateType,
        statement,
        signer: { id: stands, names: [stands], entries: [stands] },
      });
      continue;
    }
    const { envelope, file, key } = attestation;
    const parsed = envelopeOf(envelope, 'att tag');
    if (!parsed.value) {
      evidence.push(
        ...discardRows(parsed.discarded).map((row) => ({
          where: 'attestation file' as const,
          problem: `${file}: ${row.problem}`,
        })),
      );
      continue;
    }
    const artifact: EnvelopeArtifact = {
      kind: 'dsse',
      source: 'att tag',
      artifact: file,
      ...parsed.value,
      // A file carries no timestamp and no log entry: a rule that requires either fails on it.
      signer: { chain: [], timestamps: [] },
      tlogEntries: [],
      stamped: Buffer.alloc(0),
    };
    const trust: SignatureTrust = key ? { keys: [key], hash: trustHash([key], undefined) } : request.trust;
    const asked = { ...request, trust };
    const deadline = registryDeadline(LOCAL_DEADLINE_MS);
    const judged = await judgeArtifacts(
      [artifact],
      asked,
      digest,
      new VerificationBudget(new ReviewBudget(), deadline),
    );
    for (const judgement of judged.judgements) {
      if (judgement.predicateType !== request.predicateType) continue;
      anyOfType = true;
      const row = judgementRow(judgement);
      evidence.push({
        ...row,
        where: 'attestation file',
        ...(row.problem ? { problem: `${file}: ${row.problem}` } : {}),
      });
      const outcome = conclude([judgement], asked);
      if (outcome.code === 'attestation for another digest') otherDigest = true;
      const signer = signerTally(judgement);
      if (outcome.code === 'verified' && judgement.statement && row.verifiedBy && signer)
        verified.push({
          where: 'attestation file',
          verifiedBy: row.verifiedBy,
          predicateType: request.predicateType,
          statement: judgement.statement.json,
          signer,
        });
    }
  }
  const reason =
    verified.length > 0
      ? undefined
      : outcomeText(
          otherDigest
            ? { code: 'attestation for another digest' }
            : anyOfType
              ? { code: 'no trusted attestation', predicateType: request.predicateType, signers: 'keys' }
              : { code: 'no attestation', predicateType: request.predicateType },
        );
  return {
    verified: verified.length > 0,
    ...(reason ? { reason } : {}),
    digest,
    evidence,
    ...(request.keepStatements ? { attestations: verified } : {}),
  };
}

/** The subjects an envelope's payload names, read before it is verified only to tell the digest of a tagged image. */
function envelopeSubjects(envelope: unknown): string[] {
  const parsed = envelopeOf(envelope, 'att tag');
  if (!parsed.value) return [];
  try {
    const statement: unknown = JSON.parse(parsed.value.payload.toString('utf8'));
    return isObject(statement) ? statementSubjects(statement) : [];
  } catch {
    return [];
  }
}

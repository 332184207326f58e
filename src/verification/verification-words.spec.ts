import { discard } from './evidence';
import {
  discardRows,
  outcomeText,
  problemText,
  registryFailureReason,
  tlogProblemText,
} from './verification-words';

// The sentences users, their scripts and their alerts read. Those that existed before the codes
// did are pinned here word for word, beside the tests of the verifier that produce them.

describe(outcomeText.name, () => {
  it.each<[Parameters<typeof outcomeText>[0], string | undefined]>([
    [{ code: 'verified' }, undefined],
    [{ code: 'no signature' }, 'no signature'],
    [{ code: 'signature for another digest' }, 'signature for another digest'],
    [{ code: 'no tlog proof' }, 'no transparency-log inclusion proof'],
    [{ code: 'no trusted signature', signers: 'keys' }, 'no signature by a trusted key'],
    [{ code: 'no trusted signature', signers: 'identities' }, 'no signature by a trusted identity'],
    [{ code: 'no attestation', predicateType: 'T' }, 'no attestation of type T'],
    [{ code: 'attestation for another digest' }, 'attestation for another digest'],
    [
      { code: 'no trusted attestation', predicateType: 'T', signers: 'keys' },
      'no attestation of type T by a trusted key',
    ],
    [{ code: 'registry failure', reason: 'timed out' }, 'registry timed out'],
    [{ code: 'registry failure', reason: 'unreachable' }, 'registry unreachable'],
    [{ code: 'registry failure', reason: 'invalid response' }, 'invalid registry response'],
    [{ code: 'registry failure', reason: 'unauthorized' }, 'unauthorized'],
  ])('says %j as %j', (outcome, words) => {
    expect(outcomeText(outcome)).toBe(words);
  });

  it('names registry failures as the engine does for a digest it could not resolve', () => {
    expect(registryFailureReason('rate limited')).toBe('rate limited');
  });
});

describe(problemText.name, () => {
  it.each<[Parameters<typeof problemText>[0], string]>([
    [{ code: 'not asked for' }, 'not of the kind asked for'],
    [
      { code: 'no tlog proof', classicLayout: true },
      "no transparency-log inclusion proof (cosign's classic layout carries none)",
    ],
    [{ code: 'untrusted key' }, 'not signed by a trusted key'],
    [{ code: 'no certificate' }, 'no signing certificate'],
    [
      { code: 'certificate', detail: 'the signing certificate is not for code signing' },
      'the signing certificate is not for code signing',
    ],
    [{ code: 'certificate key' }, "the signature does not verify with the certificate's key"],
    [
      { code: 'payload type', payloadType: 'text/plain' },
      'payload type text/plain is not an in-toto statement',
    ],
    [{ code: 'other digest' }, 'signed, but for another digest'],
    [{ code: 'predicate type', predicateType: undefined }, 'predicate type undefined'],
    [
      { code: 'tlog', problem: { code: 'other envelope' } },
      'the transparency-log entry records another envelope',
    ],
  ])('says %j as %j', (problem, words) => {
    expect(problemText(problem)).toBe(words);
  });

  it('says what a log entry lacks', () => {
    expect(tlogProblemText({ code: 'kind not read', kind: 'hashedrekord' })).toBe(
      'transparency-log entries of kind hashedrekord are not read',
    );
  });
});

describe(discardRows.name, () => {
  it('lists the same cause met many times as one row, counted, and budgets with their numbers', () => {
    const rows = discardRows([
      ...Array.from({ length: 3 }, () => discard('att tag', 'malformed signature', 'empty signature')),
      discard('att tag', 'signatures over budget', 'over budget', { count: 4968 }),
      discard('sigstore bundle', 'malformed bundle', 'not JSON', { subject: 'sha256:abc' }),
      discard('sig tag', 'artifacts over budget', 'over budget', { count: 1 }),
    ]);

    expect(rows).toEqual([
      { where: 'att tag', problem: 'malformed artifact: a signature that is empty (3 times)' },
      {
        where: 'att tag',
        problem: 'malformed artifact: 4968 signatures past the budget of 32 per envelope, not read',
      },
      {
        where: 'sigstore bundle',
        problem: 'malformed artifact: a sigstore bundle that is not JSON (sha256:abc)',
      },
      {
        where: 'sig tag',
        problem: 'malformed artifact: 1 past the budget of 100 artifacts per image, not read',
      },
    ]);
  });

  it('keeps rows of different artifacts apart', () => {
    expect(
      discardRows([
        discard('sig tag', 'malformed signature', 'no signature annotation', { subject: 'sha256:a' }),
        discard('sig tag', 'malformed signature', 'no signature annotation', { subject: 'sha256:b' }),
      ]),
    ).toHaveLength(2);
  });
});

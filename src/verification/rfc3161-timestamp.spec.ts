import { randomBytes } from 'node:crypto';
import { keyPair } from '../testing/cosign-fixtures';
import { TimestampAuthority, timestampAuthority, timestampOver } from '../testing/timestamp-fixtures';
import { SignedTimestamp, signedTimestampOf, timestampOutcome } from './rfc3161-timestamp';
import { signatureVerifies } from './signature-crypto';
import type { SignatureCheck } from './transparency-log';

describe('RFC 3161 timestamps', () => {
  let tsa: TimestampAuthority;
  let otherTsa: TimestampAuthority;
  const signature = randomBytes(71);
  let checks = 0;
  const check: SignatureCheck = (key, data, sig, scheme) => {
    checks++;
    return signatureVerifies(key, data, sig, scheme);
  };
  const trusting = (...authorities: TimestampAuthority[]) => ({
    authorities: authorities.map((a) => a.root.node),
  });
  const read = (der: Buffer): SignedTimestamp => {
    const parsed = signedTimestampOf(der);
    if (typeof parsed === 'string') throw new Error(parsed);
    return parsed;
  };

  beforeAll(async () => {
    tsa = await timestampAuthority('test tsa');
    otherTsa = await timestampAuthority('someone else tsa');
  });
  beforeEach(() => (checks = 0));

  it('verifies a response over the signature by a trusted authority, with one signature check', () => {
    const genTime = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    const outcome = timestampOutcome(
      read(timestampOver(tsa, signature, { genTime })),
      signature,
      trusting(tsa),
      check,
    );
    expect(outcome).toMatchObject({ time: genTime, accuracyMs: 0 });
    expect('authority' in outcome && outcome.authority.fingerprint256).toBe(tsa.node.fingerprint256);
    expect(checks).toBe(1);
  });

  it("pays each link of the TSA's chain from the budget, and stops when it is spent", () => {
    const stamped = read(timestampOver(tsa, signature));
    let links = 0;
    const takeCheck = () => (links++, true);

    expect(timestampOutcome(stamped, signature, trusting(tsa), check, { takeCheck })).toHaveProperty('time');
    expect([links, checks]).toEqual([1, 1]);
    expect(timestampOutcome(stamped, signature, trusting(tsa), check, { takeCheck: () => false })).toEqual({
      problem: { code: 'over budget' },
    });
    expect(checks).toBe(1);
  });

  it('reads a bare token as notation stores it, and one that names its certificate only by the trust', () => {
    const token = read(timestampOver(tsa, signature, { tokenOnly: true, includeCertificate: false }));
    expect(token.certificates).toHaveLength(0);
    expect(
      timestampOutcome(token, signature, { authorities: [tsa.node, tsa.root.node] }, check),
    ).toHaveProperty('time');
  });

  it('refuses a timestamp over another signature before any signature check', () => {
    const outcome = timestampOutcome(
      read(timestampOver(tsa, signature, { over: randomBytes(71) })),
      signature,
      trusting(tsa),
      check,
    );
    expect(outcome).toEqual({ problem: { code: 'other signature' } });
    expect(checks).toBe(0);
  });

  it('refuses an authority the rule does not trust', () => {
    const outcome = timestampOutcome(
      read(timestampOver(otherTsa, signature)),
      signature,
      trusting(tsa),
      check,
    );
    expect(outcome).toMatchObject({ problem: { code: 'untrusted authority' } });
  });

  it('refuses a timestamp signed by another key than its certificate', () => {
    const forged = timestampOver(tsa, signature, { signedBy: keyPair().privateKey });
    expect(timestampOutcome(read(forged), signature, trusting(tsa), check)).toEqual({
      problem: { code: 'not signed' },
    });
  });

  it('refuses a certificate without the critical timeStamping usage, and one not valid at the stamped time', async () => {
    const notCritical = await timestampAuthority('lax tsa', { critical: false });
    expect(
      timestampOutcome(read(timestampOver(notCritical, signature)), signature, trusting(notCritical), check),
    ).toEqual({ problem: { code: 'not for timestamping' } });
    const codeSigning = await timestampAuthority('code tsa', { usages: ['1.3.6.1.5.5.7.3.3'] });
    expect(
      timestampOutcome(read(timestampOver(codeSigning, signature)), signature, trusting(codeSigning), check),
    ).toEqual({ problem: { code: 'not for timestamping' } });
    expect(
      timestampOutcome(
        read(timestampOver(tsa, signature, { genTime: new Date('2020-01-01T00:00:00Z') })),
        signature,
        trusting(tsa),
        check,
      ),
    ).toMatchObject({ problem: { code: 'untrusted authority' } });
  });

  it('requires the signing-certificate attribute only where asked, as notation does', () => {
    const bare = read(timestampOver(tsa, signature, { signingCertificate: false }));
    expect(timestampOutcome(bare, signature, trusting(tsa), check)).toHaveProperty('time');
    expect(
      timestampOutcome(bare, signature, trusting(tsa), check, { requireSigningCertificate: true }),
    ).toEqual({
      problem: { code: 'signing certificate attribute' },
    });
  });

  it('pays its signature check from the budget', () => {
    expect(
      timestampOutcome(read(timestampOver(tsa, signature)), signature, trusting(tsa), () => 'over budget'),
    ).toEqual({
      problem: { code: 'over budget' },
    });
  });

  it('reads no timestamp out of bytes that are not one, however they are built', () => {
    expect(signedTimestampOf(Buffer.from('not DER'))).toBe('unreadable');
    expect(signedTimestampOf(randomBytes(20_000))).toBe('too long');
    // 3,000 nested SEQUENCEs: asn1js refuses the nesting rather than recursing into it.
    let nested = Buffer.from([0x05, 0x00]);
    for (let i = 0; i < 3_000; i++) {
      const length = nested.length;
      const header =
        length < 0x80
          ? Buffer.from([0x30, length])
          : length < 0x100
            ? Buffer.from([0x30, 0x81, length])
            : Buffer.from([0x30, 0x82, length >> 8, length & 0xff]);
      nested = Buffer.concat([header, nested]);
    }
    expect(signedTimestampOf(nested)).toBe('unreadable');
  });
});

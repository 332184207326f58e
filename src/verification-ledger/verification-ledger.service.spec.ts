import { ConfigService } from '@nestjs/config';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AllConfigType } from '../config';
import { LedgerClock } from './ledger-clock';
import { VerdictSubject } from './ledger-record';
import { VerificationLedger } from './verification-ledger.service';

const DAY = 86_400_000;

const subject: VerdictSubject = {
  registry: 'registry.example.com',
  repository: 'team/app',
  digest: `sha256:${'1'.repeat(64)}`,
  check: 'signatures',
  trust: 'a'.repeat(64),
  revision: '0123456789ab',
  rule: 'signed',
};

describe(VerificationLedger.name, () => {
  let now: number;
  let sut: VerificationLedger;
  const clock: LedgerClock = { now: () => now };
  const window = { admitVerifiedWithinMs: DAY };

  beforeEach(async () => {
    now = 1_700_000_000_000;
    const dir = join(mkdtempSync(join(tmpdir(), 'kib-ledger-service-')), 'ledger');
    const config = { get: () => ({ dir }) } as unknown as ConfigService<AllConfigType, true>;
    sut = new VerificationLedger(config, clock);
    await sut.open(undefined);
  });

  afterEach(() => sut.onApplicationShutdown());

  it('admits a digest verified within the window, during an outage', () => {
    sut.recordVerified(subject, []);
    now += 60_000;

    expect(sut.admissible(subject, window)?.ageMs).toBe(60_000);
  });

  it('honours a refusal recorded after the clock stepped back (NTP), never the verdict before it', () => {
    sut.recordVerified(subject, []);
    // The clock steps back 30 s; the signature was deleted to revoke it, and the registry says so.
    now -= 30_000;
    sut.recordRefused(subject);
    now += 10_000;

    expect(sut.admissible(subject, window)).toBeUndefined();
  });

  it('pins a tag to where it moved, though the clock stepped back before the move was recorded', () => {
    const tag = { registry: subject.registry, repository: subject.repository, tag: 'v1' };
    const moved = `sha256:${'2'.repeat(64)}`;
    sut.recordTag(tag, subject.digest);
    now -= 30_000;
    sut.recordTag(tag, moved);

    expect(sut.lastTag(tag, window)?.record.digest).toBe(moved);
  });
});

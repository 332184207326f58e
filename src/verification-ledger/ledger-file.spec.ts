import { closeSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LEDGER_FILE, LEDGER_KEY_FILE, LedgerFile } from './ledger-file';
import { LedgerIndex, MAX_LEDGER_VERDICTS } from './ledger-index';
import { VerdictRecord, decodeLine, encodeRecord } from './ledger-record';

const digest = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const verdict = (n: number, verifiedAt = 1_700_000_000_000 + n): VerdictRecord => ({
  type: 'verdict',
  registry: 'registry.example.com',
  repository: 'team/app',
  digest: digest(n),
  check: 'signatures',
  trust: 'a'.repeat(64),
  revision: '0123456789ab',
  rule: 'signed',
  outcome: 'verified',
  verifiedAt,
  evidence: [{ where: 'sig tag', verifiedBy: 'key SHA256:abc' }],
});

describe(LedgerFile.name, () => {
  let dir: string;
  const logged: string[] = [];
  const open = (index = new LedgerIndex()): { sut: LedgerFile; index: LedgerIndex } => {
    const sut = new LedgerFile({ dir, index, now: () => 1_700_000_000_000, log: (_, m) => logged.push(m) });
    sut.open();
    return { sut, index };
  };

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'kib-ledger-file-')), 'ledger');
    logged.length = 0;
  });

  it('keeps what it was given across a reopen, under a key it made once, readable by its owner only', () => {
    const { sut } = open();
    sut.append(verdict(1));
    sut.append({
      type: 'tag',
      registry: 'r.example',
      repository: 'a',
      tag: 'v1',
      digest: digest(2),
      resolvedAt: 5,
    });
    sut.close();

    const { sut: again, index } = open();

    expect(again.health).toEqual({ admission: 'on' });
    expect(index.verdict(verdict(1))).toEqual(verdict(1));
    expect(index.tag({ registry: 'r.example', repository: 'a', tag: 'v1' })?.digest).toBe(digest(2));
    expect(statSync(join(dir, LEDGER_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, LEDGER_FILE)).mode & 0o777).toBe(0o600);
  });

  it('holds the newest record per key, and compacts the file to the live records', () => {
    const { sut, index } = open();
    for (let round = 0; round < 4; round++)
      for (let n = 0; n < 2000; n++) sut.append(verdict(n, 1_700_000_000_000 + round * 10_000 + n));
    const lines = readFileSync(join(dir, LEDGER_FILE), 'utf8').split('\n').length - 1;

    expect(index.size).toBe(2000);
    // 8,000 appends over 2,000 keys: compacted to 2,000 lines once 4,096 were superseded.
    expect(lines).toBe(8000 - (2000 + 4096 + 1) + 2000);
    sut.close();
    const { index: reread } = open();
    expect(reread.verdict(verdict(7))?.verifiedAt).toBe(1_700_000_000_000 + 30_000 + 7);
  });

  it('is bounded in records: the one written longest ago goes first', () => {
    const index = new LedgerIndex();
    for (let n = 0; n <= MAX_LEDGER_VERDICTS; n++) index.put(verdict(n));

    expect(index.size).toBe(MAX_LEDGER_VERDICTS);
    expect(index.verdict(verdict(0))).toBeUndefined();
    expect(index.verdict(verdict(MAX_LEDGER_VERDICTS))).toBeDefined();
  });

  it('ignores older news under a key it holds newer news for', () => {
    const index = new LedgerIndex();
    index.put(verdict(1, 2_000));

    expect(index.put({ ...verdict(1, 1_000), outcome: 'refused' })).toBe(false);
    expect(index.verdict(verdict(1))?.outcome).toBe('verified');
  });

  it('turns admission off, and does not throw, when its directory cannot be made', () => {
    // A file where the directory should be: refused whoever runs the test (root ignores modes).
    const parent = mkdtempSync(join(tmpdir(), 'kib-ledger-ro-'));
    writeFileSync(join(parent, 'ledger'), 'not a directory');
    dir = join(parent, 'ledger');
    const { sut } = open();
    sut.append(verdict(1));

    expect(sut.health).toMatchObject({ admission: 'off', problem: 'unwritable' });
    expect(logged.join('\n')).toContain('admission from the verification ledger is off until restart');
  });

  it('turns admission off when a write fails', () => {
    const { sut } = open();
    expect(sut.health).toEqual({ admission: 'on' });
    // The descriptor gone under it, as a write to a full or vanished disk fails; root ignores modes.
    closeSync((sut as unknown as { fd: number }).fd);

    sut.append(verdict(2));

    expect(sut.health).toMatchObject({ admission: 'off', problem: 'unwritable' });
  });
});

describe(decodeLine.name, () => {
  const key = Buffer.from('k'.repeat(32));

  it('reads back exactly what was encoded', () => {
    const line = encodeRecord(verdict(1), key);
    expect(decodeLine(line.slice(0, -1), key)).toEqual(verdict(1));
  });

  it.each([
    ['another key', (line: string) => line, Buffer.from('x'.repeat(32)), 'checksum mismatch'],
    ['a flipped character', (line: string) => line.replace('team/app', 'team/apq'), key, 'checksum mismatch'],
    ['no checksum', (line: string) => line.slice(65), key, 'no checksum'],
  ])('refuses a line with %s', (_, change, readKey, problem) => {
    const line = change(encodeRecord(verdict(1), key).slice(0, -1));
    expect(decodeLine(line, readKey)).toEqual({ problem });
  });

  it('refuses a record whose fields are out of bounds, though its checksum holds', () => {
    const forged = { ...verdict(1), verifiedAt: -1 };
    expect(decodeLine(encodeRecord(forged, key).slice(0, -1), key)).toEqual({
      problem: 'field out of bounds',
    });
    const noDigest = { ...verdict(1), digest: 'latest' };
    expect(decodeLine(encodeRecord(noDigest, key).slice(0, -1), key)).toEqual({
      problem: 'field out of bounds',
    });
  });

  it('refuses a line longer than a record may be, before hashing it', () => {
    expect(decodeLine(`${'0'.repeat(64)} ${'x'.repeat(4096)}`, key)).toEqual({ problem: 'too long' });
  });
});

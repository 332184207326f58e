import { chmodSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unreadableFileProblem } from './readable-file';

describe(unreadableFileProblem.name, () => {
  const dir = mkdtempSync(join(tmpdir(), 'readable-file-'));
  const file = join(dir, 'server.key');
  writeFileSync(file, 'key', { mode: 0o600 });
  const asRoot = process.getuid?.() === 0;

  it('finds nothing wrong with a file it can read', () => {
    expect(unreadableFileProblem(file)).toBeUndefined();
  });

  it('keeps the plain message for a file that does not exist', () => {
    expect(unreadableFileProblem(join(dir, 'missing.key'))).toBe(
      `cannot read file ${JSON.stringify(join(dir, 'missing.key'))}`,
    );
  });

  it('says when the path is a directory', () => {
    expect(unreadableFileProblem(dir)).toBe(`cannot read file ${JSON.stringify(dir)}: it is a directory`);
  });

  // Root reads every file, so as root test/setup.e2e-spec.ts checks this with the server run as uid 65532.
  (asRoot ? it.skip : it)('says a file it may not read is closed to it, with its mode and owner', () => {
    const closed = join(dir, 'closed.key');
    writeFileSync(closed, 'key', { mode: 0o000 });
    const { uid, gid } = statSync(closed);
    expect(unreadableFileProblem(closed)).toMatch(
      new RegExp(
        `^cannot read file "${closed}": permission denied, it is mode 0000, owner uid ${uid} gid ${gid} and this is uid ${process.getuid!()} \\(gids? [\\d, ]+\\)$`,
      ),
    );
  });

  (asRoot ? it.skip : it)('names the directory that is closed to it', () => {
    const shut = join(dir, 'shut');
    mkdirSync(shut);
    writeFileSync(join(shut, 'server.key'), 'key');
    chmodSync(shut, 0o600);
    expect(unreadableFileProblem(join(shut, 'server.key'))).toMatch(
      `: permission denied, the directory "${shut}" (mode 0600, owner uid ${process.getuid!()}`,
    );
    chmodSync(shut, 0o700);
  });
});

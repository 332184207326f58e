import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileContents, WatchedFiles } from './watched-files';

/** Longer than any test: what is reported here was reported by a watch event, not by the poll. */
const NO_POLL = { pollIntervalMs: 3_600_000 };

/** A TLS secret as the kubelet mounts it: tls.crt -> ..data/tls.crt, ..data -> ..vN. */
class SecretVolume {
  readonly dir = mkdtempSync(join(tmpdir(), 'watched-files-'));
  private version = 0;
  readonly cert = join(this.dir, 'tls.crt');
  readonly key = join(this.dir, 'tls.key');

  publish(cert: string, key: string): string {
    const previous = this.version === 0 ? undefined : join(this.dir, `..v${this.version}`);
    const version = `..v${++this.version}`;
    mkdirSync(join(this.dir, version));
    writeFileSync(join(this.dir, version, 'tls.crt'), cert);
    writeFileSync(join(this.dir, version, 'tls.key'), key);
    symlinkSync(version, join(this.dir, '..data_tmp'));
    renameSync(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.version === 1) {
      symlinkSync(join('..data', 'tls.crt'), this.cert);
      symlinkSync(join('..data', 'tls.key'), this.key);
    }
    // The kubelet removes the old version once ..data points at the new one.
    if (previous) rmSync(previous, { recursive: true });
    return version;
  }
}

describe(WatchedFiles.name, () => {
  const watched: WatchedFiles[] = [];
  afterEach(() => watched.splice(0).forEach((w) => w.stop()));

  /** Starts watching `paths` and returns what it reports, and every error it reports. */
  async function watch(paths: string[]): Promise<{
    sut: WatchedFiles;
    nextChange: () => Promise<FileContents>;
    errors: string[];
  }> {
    const changes: FileContents[] = [];
    const waiting: ((contents: FileContents) => void)[] = [];
    const errors: string[] = [];
    const sut = new WatchedFiles(
      paths,
      (contents) => {
        const waiter = waiting.shift();
        if (waiter) waiter(contents);
        else changes.push(contents);
      },
      (message) => errors.push(message),
      NO_POLL,
    );
    watched.push(sut);
    await sut.start(await sut.read());
    const nextChange = (): Promise<FileContents> => {
      const seen = changes.shift();
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiting.push(resolve));
    };
    return { sut, nextChange, errors };
  }

  it('reports a secret volume swap of ..data', async () => {
    const volume = new SecretVolume();
    volume.publish('cert 1', 'key 1');
    const { nextChange, errors } = await watch([volume.cert, volume.key]);

    volume.publish('cert 2', 'key 2');

    expect([...(await nextChange()).values()]).toEqual(['cert 2', 'key 2']);
    expect(errors).toEqual([]);
  });

  // The cause of the rotation failure in test/robust: the rewrite lands in ..v1/, a directory the
  // watch on the volume's own directory never hears from, so each worker saw it only at its poll.
  it('reports a file rewritten in place through the symlinks, without waiting for a poll', async () => {
    const volume = new SecretVolume();
    volume.publish('cert 1', 'key 1');
    const { nextChange } = await watch([volume.cert, volume.key]);

    writeFileSync(volume.cert, 'cert 2');
    writeFileSync(volume.key, 'key 2');

    expect([...(await nextChange()).values()]).toEqual(['cert 2', 'key 2']);
  });

  it('follows the symlinks to each new version: a rewrite in place after a swap is reported too', async () => {
    const volume = new SecretVolume();
    volume.publish('cert 1', 'key 1');
    const { nextChange, errors } = await watch([volume.cert, volume.key]);

    volume.publish('cert 2', 'key 2');
    expect([...(await nextChange()).values()]).toEqual(['cert 2', 'key 2']);
    writeFileSync(volume.cert, 'cert 3');
    writeFileSync(volume.key, 'key 3');

    expect([...(await nextChange()).values()]).toEqual(['cert 3', 'key 3']);
    // The deleted previous version is let go of quietly.
    expect(errors).toEqual([]);
  });

  it('reports an editor saving by rename, and a write in place, of a plain file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watched-files-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, 'one');
    const { nextChange } = await watch([path]);

    writeFileSync(`${path}.swp`, 'two');
    renameSync(`${path}.swp`, path);
    expect([...(await nextChange()).values()]).toEqual(['two']);
    writeFileSync(path, 'three');
    expect([...(await nextChange()).values()]).toEqual(['three']);
  });

  it('reports nothing when a file is written with the contents it had', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'watched-files-'));
    const path = join(dir, 'policy.yaml');
    writeFileSync(path, 'same');
    const { sut, nextChange } = await watch([path]);

    writeFileSync(path, 'same');
    await sut.check();
    writeFileSync(path, 'changed');

    expect([...(await nextChange()).values()]).toEqual(['changed']);
  });
});

import { FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';

/** Re-read this often even without a watch event: some mounts and editors emit none. */
const POLL_INTERVAL_MS = 1_000;
/** Writers often touch a file several times in a row (truncate, write; cert, then key); read once after. */
const SETTLE_MS = 50;

export type FileContents = ReadonlyMap<string, string>;

/**
 * Watches a set of files that only make sense together (a policy; a certificate, its key and a
 * client CA) and reports their contents whenever any of them changes. Directories are watched,
 * not files, because Kubernetes secret and ConfigMap mounts swap a `..data` symlink and editors
 * save by renaming; a content hash decides whether anything really changed.
 */
export class WatchedFiles {
  private readonly watchers: FSWatcher[] = [];
  private poller?: NodeJS.Timeout;
  private settleTimer?: NodeJS.Timeout;
  private lastHash?: string;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly paths: readonly string[],
    private readonly onChange: (contents: FileContents) => void,
    private readonly onError: (message: string) => void,
  ) {}

  /** Reads all files now; throws if one is unreadable. */
  async read(): Promise<FileContents> {
    const texts = await Promise.all(this.paths.map((path) => readFile(path, 'utf8')));
    return new Map(this.paths.map((path, index) => [path, texts[index]]));
  }

  /** Starts watching, taking `initial` (what the caller loaded at boot) as the current contents. */
  start(initial: FileContents): void {
    this.lastHash = hashOf(initial);
    const names = new Set(this.paths.map((path) => basename(path)));
    for (const directory of new Set(this.paths.map((path) => dirname(path)))) {
      try {
        const watcher = watch(directory, { persistent: false }, (_event, file) => {
          if (file === null || names.has(file) || file.startsWith('..')) this.settleThenCheck();
        });
        watcher.on('error', (error) =>
          this.onError(`watching ${directory} stopped, polling only: ${error.message}`),
        );
        this.watchers.push(watcher);
      } catch (error) {
        this.onError(`cannot watch ${directory}, polling only: ${(error as Error).message}`);
      }
    }
    this.poller = setInterval(() => void this.check(), POLL_INTERVAL_MS).unref();
  }

  stop(): void {
    this.watchers.splice(0).forEach((watcher) => watcher.close());
    clearInterval(this.poller);
    clearTimeout(this.settleTimer);
  }

  /** Reads the files again and reports them if they differ from the last contents seen. */
  check(): Promise<void> {
    this.reading = this.reading.then(async () => {
      let contents: FileContents;
      try {
        contents = await this.read();
      } catch (error) {
        // Mid-swap a mount can briefly lack a file; the next event or poll tries again.
        this.onError(
          `cannot read ${(error as NodeJS.ErrnoException).path ?? 'a watched file'}: ${(error as Error).message}`,
        );
        return;
      }
      const hash = hashOf(contents);
      if (hash === this.lastHash) return;
      this.lastHash = hash;
      try {
        this.onChange(contents);
      } catch (error) {
        // A throw here would reject every later check too, and, unhandled, end the process.
        this.onError(`applying the change failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    return this.reading;
  }

  private settleThenCheck(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => void this.check(), SETTLE_MS);
  }
}

function hashOf(contents: FileContents): string {
  const hash = createHash('sha256');
  for (const [path, text] of contents) hash.update(path).update('\0').update(text).update('\0');
  return hash.digest('hex');
}

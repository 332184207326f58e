import { FSWatcher, watch } from 'node:fs';
import { readFile, realpath } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';

/** Re-read this often even without a watch event: some mounts and editors emit none. */
const POLL_INTERVAL_MS = 1_000;
/** Writers often touch a file several times in a row (truncate, write; cert, then key); read once after. */
const SETTLE_MS = 50;

export type FileContents = ReadonlyMap<string, string>;

export interface WatchedFilesOptions {
  /** How often to read the files without a watch event; tests lengthen it to see what events alone do. */
  readonly pollIntervalMs?: number;
}

/**
 * Watches a set of files that only make sense together (a policy; a certificate, its key and a
 * client CA) and reports their contents whenever any of them changes. Directories are watched,
 * not files, because Kubernetes secret and ConfigMap mounts swap a `..data` symlink and editors
 * save by renaming; a content hash decides whether anything really changed.
 *
 * Two kinds of directory are watched. The one each configured path is in sees a `..data` swap and
 * an editor's rename. The one each path resolves to (through `tls.crt -> ..data/tls.crt`, into
 * `..2024_01_01_00_00_00.123/`) sees a file rewritten in place through the symlink, which the
 * first never hears of: without it such a rewrite waited for the poll, each worker of a cluster
 * on its own poll's phase, so workers served different certificates for up to a second. Paths
 * are resolved again after every read, since a swap moves them to a new directory.
 */
export class WatchedFiles {
  /** Watchers by directory, each with the entry names in it that matter. */
  private readonly watchers = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  private readonly pollIntervalMs: number;
  private poller?: NodeJS.Timeout;
  private settleTimer?: NodeJS.Timeout;
  private lastHash?: string;
  private reading: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Directories that could not be watched, each reported once rather than at every poll. */
  private readonly unwatchable = new Set<string>();

  constructor(
    private readonly paths: readonly string[],
    private readonly onChange: (contents: FileContents) => void,
    private readonly onError: (message: string) => void,
    options: WatchedFilesOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS;
  }

  /** Reads all files now; throws if one is unreadable. */
  async read(): Promise<FileContents> {
    const texts = await Promise.all(this.paths.map((path) => readFile(path, 'utf8')));
    return new Map(this.paths.map((path, index) => [path, texts[index]]));
  }

  /**
   * Starts watching, taking `initial` (what the caller loaded at boot) as the current contents.
   * Resolves once the watchers are in place, so a write after it is seen.
   */
  async start(initial: FileContents): Promise<void> {
    this.lastHash = hashOf(initial);
    await this.watchDirectories();
    if (this.stopped) return;
    this.poller = setInterval(() => void this.check(), this.pollIntervalMs).unref();
  }

  stop(): void {
    this.stopped = true;
    for (const { watcher } of this.watchers.values()) watcher.close();
    this.watchers.clear();
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
      await this.watchDirectories();
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

  /** The directories to watch now, each with the entry names in it that signal a change. */
  private async wantedDirectories(): Promise<Map<string, Set<string>>> {
    const wanted = new Map<string, Set<string>>();
    const want = (directory: string, name: string): void => {
      const names = wanted.get(directory) ?? new Set<string>();
      names.add(name);
      wanted.set(directory, names);
    };
    for (const path of this.paths) {
      want(dirname(path), basename(path));
      // A path that does not resolve now (mid-swap) is resolved again at the next read.
      const resolved = await realpath(path).catch(() => undefined);
      if (resolved !== undefined) want(dirname(resolved), basename(resolved));
    }
    return wanted;
  }

  /** Watches the directories the paths are in and resolve to; drops those they no longer resolve to. */
  private async watchDirectories(): Promise<void> {
    const wanted = await this.wantedDirectories();
    if (this.stopped) return;
    for (const [directory, entry] of this.watchers) {
      if (wanted.has(directory)) continue;
      // A secret's previous version directory, which the kubelet is about to delete.
      entry.watcher.close();
      this.watchers.delete(directory);
    }
    for (const [directory, names] of wanted) {
      const existing = this.watchers.get(directory);
      if (existing) {
        existing.names = names;
        continue;
      }
      try {
        const entry = { names, watcher: undefined as unknown as FSWatcher };
        entry.watcher = watch(directory, { persistent: false }, (_event, file) => {
          if (file === null || entry.names.has(file) || file.startsWith('..')) this.settleThenCheck();
        });
        entry.watcher.on('error', (error) => {
          entry.watcher.close();
          if (this.watchers.get(directory) !== entry) return;
          this.watchers.delete(directory);
          this.onError(
            `watching ${directory} stopped: ${error.message}; polling, and watching again after a read`,
          );
        });
        this.watchers.set(directory, entry);
        this.unwatchable.delete(directory);
      } catch (error) {
        if (this.unwatchable.has(directory)) continue;
        this.unwatchable.add(directory);
        this.onError(`cannot watch ${directory}, polling it: ${(error as Error).message}`);
      }
    }
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

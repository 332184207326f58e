import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { LedgerIndex } from './ledger-index';
import { LedgerRecord, MAX_RECORD_BYTES, decodeLine, encodeRecord } from './ledger-record';

/** The file in the ledger directory that holds the records. */
export const LEDGER_FILE = 'ledger-v1.jsonl';
/** The checksum key, made at the first start unless `--ledger-key-file` names one. */
export const LEDGER_KEY_FILE = 'ledger.key';
/** Where a damaged ledger is moved, for whoever investigates; the next damage replaces it. */
export const DAMAGED_FILE = 'ledger-v1.damaged';

/**
 * A ledger file larger than this is refused unread, as damage: compaction keeps an honest one below
 * COMPACT_ABOVE_BYTES plus a record, so only something else wrote it.
 */
export const MAX_LEDGER_BYTES = 64 * 1024 * 1024;
/** Compaction runs at the latest when the file reaches this. */
export const COMPACT_ABOVE_BYTES = 32 * 1024 * 1024;
/** ... and earlier, once the file holds this many lines beyond the live records. */
const COMPACT_AFTER_SUPERSEDED = 4096;

/** Whether admission from the ledger is on, and if not, why. */
export type LedgerHealth =
  | { readonly admission: 'on' }
  | {
      readonly admission: 'off';
      readonly problem: 'damaged' | 'unwritable';
      readonly message: string;
      readonly since: string;
    };

export interface LedgerFileOptions {
  readonly dir: string;
  /** A file holding the checksum key (at least 32 bytes); absent, the directory's own key. */
  readonly keyFile?: string;
  readonly index: LedgerIndex;
  readonly now: () => number;
  readonly log: (level: 'warn' | 'error', message: string) => void;
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The ledger on disk: one append-only file of checksummed lines, read whole at start into the index,
 * appended to for every new record, and rewritten from the index (to a new file, synced, then renamed
 * over the old, so a crash leaves one or the other whole) when superseded lines pile up. Only one
 * process writes it: a single process, or a cluster's primary on its workers' behalf.
 *
 * Damage (a line whose checksum does not verify or that does not parse, a last line without its
 * newline, a file over MAX_LEDGER_BYTES) turns admission off for the life of the process: nothing
 * read from the file is used, the file is moved aside to DAMAGED_FILE, and new verdicts go to a
 * fresh file, so the next start has only records written since. A write that fails turns it off too.
 */
export class LedgerFile {
  private fd?: number;
  private key?: Buffer;
  private lines = 0;
  private bytes = 0;
  private state: LedgerHealth = { admission: 'on' };
  private readonly path: string;

  constructor(private readonly options: LedgerFileOptions) {
    this.path = join(options.dir, LEDGER_FILE);
  }

  get health(): LedgerHealth {
    return this.state;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Reads what is there into the index; never throws: what goes wrong turns admission off. */
  open(): void {
    try {
      mkdirSync(this.options.dir, { recursive: true, mode: 0o700 });
      this.key = this.readKey();
    } catch (error) {
      this.fail('unwritable', `ledger directory ${this.options.dir}: ${errorText(error)}`);
      return;
    }
    const damage = this.load();
    if (damage !== undefined) {
      this.options.index.clear();
      this.fail('damaged', `ledger ${this.path}: ${damage}`);
      try {
        renameSync(this.path, join(this.options.dir, DAMAGED_FILE));
      } catch (error) {
        this.options.log('error', `could not move the damaged ledger aside: ${errorText(error)}`);
      }
      this.lines = this.bytes = 0;
    }
    try {
      this.fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
      if (this.bytes === 0) this.bytes = fstatSync(this.fd).size;
    } catch (error) {
      this.fail('unwritable', `ledger ${this.path}: ${errorText(error)}`);
    }
  }

  /** Adds a record to the index and the file, compacting when due. */
  append(record: LedgerRecord): void {
    this.options.index.put(record);
    if (this.fd === undefined || this.key === undefined) return;
    const line = encodeRecord(record, this.key);
    try {
      writeSync(this.fd, line);
    } catch (error) {
      this.closeFile();
      this.fail('unwritable', `writing ${this.path}: ${errorText(error)}`);
      return;
    }
    this.lines += 1;
    this.bytes += Buffer.byteLength(line);
    const live = this.options.index.size;
    if (
      this.lines > live + COMPACT_AFTER_SUPERSEDED ||
      (this.bytes > COMPACT_ABOVE_BYTES && this.lines > live)
    )
      this.compact();
  }

  /** Rewrites the file with the index's records only: one line per key, the bounded live set. */
  compact(): void {
    if (this.key === undefined || this.fd === undefined) return;
    const next = `${this.path}.compacting`;
    const lines = this.options.index.records().map((record) => encodeRecord(record, this.key!));
    let fd: number | undefined;
    try {
      fd = openSync(next, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
      writeSync(fd, lines.join(''));
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(next, this.path);
    } catch (error) {
      if (fd !== undefined) closeSync(fd);
      this.closeFile();
      this.fail('unwritable', `compacting ${this.path}: ${errorText(error)}`);
      return;
    }
    this.closeFile();
    try {
      this.fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND, 0o600);
    } catch (error) {
      this.fail('unwritable', `reopening ${this.path}: ${errorText(error)}`);
      return;
    }
    this.lines = lines.length;
    this.bytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line), 0);
  }

  close(): void {
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      // Closing a descriptor whose writes already failed says nothing new.
    }
    this.fd = undefined;
  }

  private fail(problem: 'damaged' | 'unwritable', message: string): void {
    this.options.log('error', `${message}; admission from the verification ledger is off until restart`);
    if (this.state.admission === 'off') return;
    this.state = {
      admission: 'off',
      problem,
      message,
      since: new Date(this.options.now()).toISOString(),
    };
  }

  /** The operator's key, or the directory's own, made once with O_EXCL so two starts agree on it. */
  private readKey(): Buffer {
    if (this.options.keyFile !== undefined) return readKeyFile(this.options.keyFile);
    const path = join(this.options.dir, LEDGER_KEY_FILE);
    try {
      writeFileSync(path, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    return readKeyFile(path);
  }

  /**
   * Loads the file into the index; says what is damaged, or nothing. Reads a regular file only (a
   * device or a FIFO put in its place would never end), and at most MAX_LEDGER_BYTES of it.
   */
  private load(): string | undefined {
    let fd: number;
    try {
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return undefined;
      return code === 'ELOOP' ? 'a symbolic link, not the ledger file' : errorText(error);
    }
    let text: string;
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) return 'not a regular file';
      if (stat.size > MAX_LEDGER_BYTES)
        return `${stat.size} bytes, more than the ${MAX_LEDGER_BYTES} a ledger may hold`;
      const buffer = Buffer.alloc(stat.size);
      let read = 0;
      while (read < buffer.length) {
        const got = readSync(fd, buffer, read, buffer.length - read, read);
        if (got === 0) break;
        read += got;
      }
      text = buffer.subarray(0, read).toString('utf8');
    } catch (error) {
      return errorText(error);
    } finally {
      closeSync(fd);
    }
    if (text.length === 0) return undefined;
    if (!text.endsWith('\n')) return 'truncated: the last record has no end';
    const lines = text.slice(0, -1).split('\n');
    for (const [index, line] of lines.entries()) {
      const decoded = decodeLine(line, this.key!);
      if ('problem' in decoded) return `line ${index + 1}: ${decoded.problem}`;
      this.options.index.put(decoded);
    }
    this.lines = lines.length;
    this.bytes = Buffer.byteLength(text);
    return undefined;
  }
}

/** A key file: its bytes as written, at least 32 of them, read no further than a kilobyte. */
function readKeyFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(1024);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const key = Buffer.from(buffer.subarray(0, length).toString('utf8').trim());
    if (key.length < 32) throw new Error(`ledger key ${path} holds fewer than 32 bytes`);
    return key;
  } finally {
    closeSync(fd);
  }
}

export { MAX_RECORD_BYTES };

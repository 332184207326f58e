import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import cluster from 'node:cluster';
import { AllConfigType } from '../../config';
import { FileContents, WatchedFiles } from '../../file-watch';
import { CompiledImagePolicy } from './compiled-image-policy';
import { DEFAULT_POLICY_SOURCE, DEFAULT_POLICY_YAML } from './default-policy';
import { ImagePolicyCompiler } from './image-policy.compiler';
import { InvalidPolicyError } from './invalid-policy.error';

export type PolicyReloadResult = 'applied' | 'refused';
export type PolicyNoticeLevel = 'error' | 'warn';

/**
 * Holds the policy in force and replaces it when its file changes (see WatchedFiles for how
 * ConfigMap symlink swaps and editors' renames are seen). A policy that fails validation is
 * refused and logged, and the last good one stays in force.
 */
@Injectable()
export class PolicyStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PolicyStore.name);
  private readonly path?: string;
  private file?: WatchedFiles;
  private policy?: CompiledImagePolicy;
  private readonly reloadListeners: ((result: PolicyReloadResult, error?: InvalidPolicyError) => void)[] = [];
  lastRefusal?: { at: Date; message: string };
  private readonly noticeListeners: ((level: PolicyNoticeLevel, message: string) => void)[] = [];

  /**
   * What concerns the file rather than this process (a refused edit, an expired exception, a
   * policy that denies nothing) is the same in every cluster worker: there the primary logs it,
   * once, from what the workers report through `onNotice` (src/cluster), and a worker logs it at
   * debug only.
   */
  private sayOnce(level: PolicyNoticeLevel, message: string): void {
    if (cluster.isWorker) this.logger.debug(message);
    else this.logger[level](message);
    for (const listener of this.noticeListeners) listener(level, message);
  }

  /** Every refusal and warning about the policy file, as logged (see sayOnce). */
  onNotice(listener: (level: PolicyNoticeLevel, message: string) => void): void {
    this.noticeListeners.push(listener);
  }

  constructor(
    config: ConfigService<AllConfigType, true>,
    private readonly compiler: ImagePolicyCompiler,
  ) {
    this.path = config.get('policy', { infer: true }).path;
    if (this.path !== undefined) this.file = this.watcherFor([]);
  }

  /** The policy file and every file it names (keys, CA bundles, credentials) change together. */
  private watcherFor(referenced: readonly string[]): WatchedFiles {
    return new WatchedFiles(
      [this.path!, ...referenced],
      (contents) => this.apply(contents),
      (message) => this.logger.warn(`policy: ${message}; keeping the policy in force`),
    );
  }

  /** Watches what the policy in force names; a policy that names other files gets a new watcher. */
  private async watch(contents: FileContents): Promise<void> {
    const referenced = [...this.policy!.referencedFiles.keys()];
    const watched = [...contents.keys()];
    const same = watched.length === referenced.length + 1 && referenced.every((p) => contents.has(p));
    if (same && this.started) return;
    this.file?.stop();
    this.file = this.watcherFor(referenced);
    await this.file.start(
      new Map([[this.path!, contents.get(this.path!)!], ...this.policy!.referencedFiles]),
    );
    this.started = true;
  }

  private started = false;

  get current(): CompiledImagePolicy {
    if (!this.policy) throw new Error('policy requested before it was loaded');
    return this.policy;
  }

  get loaded(): boolean {
    return this.policy !== undefined;
  }

  /** Called after each reload attempt of a changed file; metrics hook in here. */
  onReload(listener: (result: PolicyReloadResult, error?: InvalidPolicyError) => void): void {
    this.reloadListeners.push(listener);
  }

  async onModuleInit(): Promise<void> {
    if (!this.path || !this.file) {
      this.policy = this.compiler.compile(DEFAULT_POLICY_YAML, DEFAULT_POLICY_SOURCE);
      this.logger.log(`policy: ${DEFAULT_POLICY_SOURCE} (deny latest)`);
      return;
    }
    // At boot a bad policy is fatal: starting without the intended rules would be failing open.
    const contents = await this.file.read();
    this.policy = this.compiler.compile(contents.get(this.path)!, this.path);
    this.logger.log(`policy: ${this.describe(this.policy)}`);
    this.warnIfPermissive(this.policy);
    this.warnAbout(this.policy);
    await this.watch(contents);
  }

  onModuleDestroy(): void {
    this.file?.stop();
  }

  /** Reads the file now rather than at the next watch event or poll. */
  reload(): Promise<void> {
    return this.file?.check() ?? Promise.resolve();
  }

  private apply(contents: FileContents): void {
    const path = this.path!;
    try {
      this.policy = this.compiler.compile(contents.get(path)!, path, contents);
    } catch (error) {
      // Whatever failed, the last good policy stays: an unexpected error is a bug to log, not a
      // reason to stop answering reviews, nor to answer them without the intended rules.
      const message =
        error instanceof InvalidPolicyError
          ? error.message
          : `policy ${path} could not be compiled: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      this.lastRefusal = { at: new Date(), message };
      this.sayOnce('error', `${message}\n  keeping policy revision ${this.current.revision} in force`);
      this.notify('refused', error instanceof InvalidPolicyError ? error : undefined);
      return;
    }
    this.lastRefusal = undefined;
    // A policy that names other files than before gets a watcher for them; the same files keep theirs.
    this.watch(contents).catch((error: unknown) =>
      this.logger.warn(`policy: watching the files it names failed, polling only: ${String(error)}`),
    );
    this.logger.log(`policy reloaded: ${this.describe(this.policy)}`);
    this.warnIfPermissive(this.policy);
    this.warnAbout(this.policy);
    this.notify('applied');
  }

  private notify(result: PolicyReloadResult, error?: InvalidPolicyError): void {
    for (const listener of this.reloadListeners) listener(result, error);
  }

  private warnIfPermissive(policy: CompiledImagePolicy): void {
    if (policy.permissive)
      this.sayOnce(
        'warn',
        `policy ${policy.name} denies nothing: ${policy.permissive}; every image is let through (spec.allowPermissive: true)`,
      );
  }

  /** What the policy says that is accepted but surely not meant, such as an exception already expired. */
  private warnAbout(policy: CompiledImagePolicy): void {
    for (const warning of policy.warnings) this.sayOnce('warn', `policy: ${warning}`);
  }

  private describe(policy: CompiledImagePolicy): string {
    const rules = policy.rules.map((r) => `${r.name} (${r.rule.key}, ${r.enforcement})`).join(', ');
    return `${policy.name} from ${policy.source}, revision ${policy.revision}; rules: ${rules}`;
  }
}

import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { FSWatcher, watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createHash } from 'node:crypto';
import { AllConfigType } from '../../config/bouncer-config';
import { CompiledImagePolicy } from './compiled-image-policy';
import { DEFAULT_POLICY_SOURCE, DEFAULT_POLICY_YAML } from './default-policy';
import { ImagePolicyCompiler } from './image-policy.compiler';
import { InvalidPolicyError } from './invalid-policy.error';

/** Re-hash the file this often even without a watch event: some mounts and editors emit none. */
const POLL_INTERVAL_MS = 1_000;

export type PolicyReloadResult = 'applied' | 'unchanged' | 'refused';

/**
 * Holds the policy in force and replaces it when its file changes. The file's directory is watched,
 * because Kubernetes ConfigMap mounts swap a `..data` symlink and editors save by renaming; either
 * way the file is read again and compared by hash. A policy that fails validation is refused and
 * logged, and the last good one stays in force.
 */
@Injectable()
export class PolicyStore implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PolicyStore.name);
  private readonly path?: string;
  private policy?: CompiledImagePolicy;
  /** Hash of the last text applied or refused, so a broken file is reported once, not every second. */
  private lastSeenHash?: string;
  private watcher?: FSWatcher;
  private poller?: NodeJS.Timeout;
  private reloading: Promise<PolicyReloadResult> = Promise.resolve('unchanged');
  private readonly reloadListeners: ((result: PolicyReloadResult, error?: InvalidPolicyError) => void)[] = [];
  lastRefusal?: { at: Date; message: string };

  constructor(
    config: ConfigService<AllConfigType, true>,
    private readonly compiler: ImagePolicyCompiler,
  ) {
    this.path = config.get('policy', { infer: true }).path;
  }

  get current(): CompiledImagePolicy {
    if (!this.policy) throw new Error('policy requested before it was loaded');
    return this.policy;
  }

  get loaded(): boolean {
    return this.policy !== undefined;
  }

  /** Called after each reload attempt that read a changed file; metrics hook in here. */
  onReload(listener: (result: PolicyReloadResult, error?: InvalidPolicyError) => void): void {
    this.reloadListeners.push(listener);
  }

  async onModuleInit(): Promise<void> {
    if (this.path === undefined) {
      this.policy = this.compiler.compile(DEFAULT_POLICY_YAML, DEFAULT_POLICY_SOURCE);
      this.logger.log(`policy: ${DEFAULT_POLICY_SOURCE} (deny latest)`);
      return;
    }
    // At boot a bad policy is fatal: starting without the intended rules would be failing open.
    const text = await readFile(this.path, 'utf8');
    this.policy = this.compiler.compile(text, this.path);
    this.lastSeenHash = sha256(text);
    this.logger.log(`policy: ${this.describe(this.policy)}`);
    this.watch(this.path);
  }

  onModuleDestroy(): void {
    this.watcher?.close();
    clearInterval(this.poller);
  }

  /** Reads the file again and applies it if it changed and is valid. Concurrent calls are serialized. */
  reload(): Promise<PolicyReloadResult> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private async reloadOnce(): Promise<PolicyReloadResult> {
    if (this.path === undefined) return 'unchanged';
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      // Mid-swap a ConfigMap mount can briefly lack the file; the next event or poll retries.
      this.logger.warn(
        `policy ${this.path} unreadable, keeping revision ${this.current.revision}: ${(error as Error).message}`,
      );
      return 'unchanged';
    }
    const hash = sha256(text);
    if (hash === this.lastSeenHash) return 'unchanged';
    this.lastSeenHash = hash;
    try {
      this.policy = this.compiler.compile(text, this.path);
    } catch (error) {
      if (!(error instanceof InvalidPolicyError)) throw error;
      this.lastRefusal = { at: new Date(), message: error.message };
      this.logger.error(`${error.message}\n  keeping policy revision ${this.current.revision} in force`);
      this.notify('refused', error);
      return 'refused';
    }
    this.lastRefusal = undefined;
    this.logger.log(`policy reloaded: ${this.describe(this.policy)}`);
    this.notify('applied');
    return 'applied';
  }

  private watch(path: string): void {
    const trigger = (): void => {
      this.reload().catch((error: unknown) => this.logger.error(`policy reload failed: ${String(error)}`));
    };
    try {
      const name = basename(path);
      this.watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
        if (file === null || file === name || file.startsWith('..')) trigger();
      });
      this.watcher.on('error', (error) =>
        this.logger.warn(`policy watch stopped, polling only: ${error.message}`),
      );
    } catch (error) {
      this.logger.warn(`cannot watch ${dirname(path)}, polling only: ${(error as Error).message}`);
    }
    this.poller = setInterval(trigger, POLL_INTERVAL_MS).unref();
  }

  private notify(result: PolicyReloadResult, error?: InvalidPolicyError): void {
    for (const listener of this.reloadListeners) listener(result, error);
  }

  private describe(policy: CompiledImagePolicy): string {
    const rules = policy.rules.map((r) => `${r.name} (${r.rule.key}, ${r.enforcement})`).join(', ');
    return `${policy.name} from ${policy.source}, revision ${policy.revision}; rules: ${rules}`;
  }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

import { Injectable, Logger, OnApplicationShutdown, OnModuleInit, Optional } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import cluster from 'node:cluster';
import { AllConfigType } from '../config';
import { RegistryClient } from '../registry';
import { HotDigest, HotDigests, RefreshOutcome } from './hot-digests';
import { LedgerClock } from './ledger-clock';
import { LedgerFile, LedgerHealth } from './ledger-file';
import { LedgerIndex } from './ledger-index';
import { FileLedgerKeeper, LedgerKeeper, WorkerLedgerKeeper } from './ledger-keeper';
import {
  LedgerEvidence,
  MAX_EVIDENCE_PER_RECORD,
  TagRecord,
  TagSubject,
  VerdictRecord,
  VerdictSubject,
  verdictKey,
} from './ledger-record';
import { RegistryOutages } from './registry-outages';

/** A verdict's age is judged against this much clock skew at most: a record from later is refused. */
const FUTURE_TOLERANCE_MS = 60_000;
/** How often due refreshes are looked for. */
const REFRESH_TICK_MS = 1_000;

/** What the policy in force says of the ledger, read on every review. */
export interface LedgerWindow {
  /** Admit a digest verified within this long, during an outage. */
  readonly admitVerifiedWithinMs: number;
}

/** A verdict the ledger answered with, and how old it is. */
export interface LedgerAnswer {
  readonly record: VerdictRecord;
  readonly ageMs: number;
}

/** A tag's last resolution, and how old it is. */
export interface LedgerPin {
  readonly record: TagRecord;
  readonly ageMs: number;
}

/** What metrics count of the ledger. */
export type LedgerEvent =
  | { readonly type: 'admission'; readonly rule: string }
  | { readonly type: 'pin' }
  | { readonly type: 'refresh'; readonly outcome: RefreshOutcome };

const clip = (text: string | undefined, max: number): string | undefined =>
  text === undefined ? undefined : text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/**
 * The verification ledger: every verified verdict recorded, with the digest, repository, rule,
 * trust-material hash and policy revision, the evidence that decided it and when; persisted in a
 * directory (see LedgerFile) so it outlives a restart. When a registry-aware check cannot be
 * answered because the registry is away (OUTAGE_REASONS), the engine asks `admissible`: a verdict
 * under the same policy revision and trust material, verified within `admitVerifiedWithin`, and
 * never refused since. Nothing else: a definite failure is the registry's answer, and the ledger
 * never speaks over it.
 *
 * There is no ledger unless a directory is given (`spec.verificationLedger.path`, or `serve
 * --ledger-dir`), and none outside `serve`. In a cluster, the primary keeps the file and every
 * worker holds every record in memory (ClusterLedger).
 */
@Injectable()
export class VerificationLedger implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(VerificationLedger.name);
  private readonly index = new LedgerIndex();
  private keeper?: LedgerKeeper;
  private timer?: NodeJS.Timeout;
  private readonly listeners: ((event: LedgerEvent) => void)[] = [];
  readonly outages: RegistryOutages;
  readonly hot: HotDigests;
  /** The directory in use, once open. */
  dir?: string;

  constructor(
    private readonly config: ConfigService<AllConfigType, true>,
    readonly clock: LedgerClock,
    @Optional() client?: RegistryClient,
  ) {
    const now = (): number => this.clock.now();
    this.outages = new RegistryOutages(now);
    this.hot = new HotDigests(now, (registry) => this.outages.isFailing(registry));
    this.hot.onRefresh((outcome) => this.emit({ type: 'refresh', outcome }));
    client?.observe({
      request: ({ registry, outcome }) => this.outages.observe(registry, outcome),
      cache: () => undefined,
    });
  }

  onModuleInit(): void {
    // Nothing: the directory may come from the policy, which the engine hands over once loaded.
  }

  /** Whether a ledger is open in this process. */
  get enabled(): boolean {
    return this.keeper !== undefined;
  }

  /** Whether a record may be admitted from now; off when there is no ledger or it is damaged or unwritable. */
  get health(): LedgerHealth | undefined {
    return this.keeper?.health;
  }

  get sizeBytes(): number {
    return this.keeper?.sizeBytes ?? 0;
  }

  get counts(): { verdicts: number; tags: number } {
    return { verdicts: this.index.verdictCount, tags: this.index.tagCount };
  }

  /** Whether the ledger holds verdicts of this registry, so that its outage is the ledger's business. */
  holdsRegistry(registry: string): boolean {
    return this.index.holdsRegistry(registry);
  }

  onEvent(listener: (event: LedgerEvent) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Opens the ledger in `policyPath` (the policy's `spec.verificationLedger.path`), or else in
   * `--ledger-dir`; without either, or outside `serve`, there is none. Called once, at start: the
   * directory is not changed by a policy reload.
   */
  async open(policyPath: string | undefined): Promise<void> {
    const ledger: AllConfigType['ledger'] = this.config.get('ledger', { infer: true });
    if (ledger === undefined || this.keeper !== undefined) return;
    const dir = policyPath ?? ledger.dir;
    if (dir === undefined) return;
    this.dir = dir;
    if (ledger.keptByPrimary && cluster.isWorker) {
      const keeper = new WorkerLedgerKeeper(this.index);
      this.keeper = keeper;
      await keeper.start();
    } else {
      const file = new LedgerFile({
        dir,
        keyFile: ledger.keyFile,
        index: this.index,
        now: () => this.clock.now(),
        log: (level, message) => (level === 'error' ? this.logger.error(message) : this.logger.warn(message)),
      });
      file.open();
      this.keeper = new FileLedgerKeeper(file);
    }
    const health = this.keeper.health;
    this.logger.log(
      `verification ledger in ${dir}: ${this.index.verdictCount} verdict(s), ${this.index.tagCount} tag(s); admission from it is ${health.admission}${health.admission === 'off' ? ` (${health.message})` : ''}`,
    );
    this.timer = setInterval(() => void this.hot.tick(), REFRESH_TICK_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.keeper?.close();
  }

  /** Records a verdict the registry just let verify. */
  recordVerified(subject: VerdictSubject, evidence: readonly LedgerEvidence[]): void {
    if (!this.keeper) return;
    this.keeper.append({
      type: 'verdict',
      ...subject,
      verifiedAt: this.clock.now(),
      outcome: 'verified',
      evidence: evidence.slice(0, MAX_EVIDENCE_PER_RECORD).map((item) => ({
        where: item.where,
        ...(item.verifiedBy === undefined ? {} : { verifiedBy: clip(item.verifiedBy, 256)! }),
        ...(item.artifact === undefined ? {} : { artifact: item.artifact }),
        ...(item.predicateType === undefined ? {} : { predicateType: clip(item.predicateType, 256)! }),
      })),
    });
  }

  /**
   * Records that the registry answered, and the digest did not verify: a verdict held for it is
   * void from now on (a signature deleted to revoke it is honoured at the next verification). Only
   * written over a verified record, so a stream of unsigned digests writes nothing.
   */
  recordRefused(subject: VerdictSubject): void {
    if (!this.keeper) return;
    const held = this.index.verdict(subject);
    if (held === undefined || held.outcome !== 'verified') return;
    this.keeper.append({
      type: 'verdict',
      ...subject,
      // Later than the verdict it voids even when the clock stepped back since (NTP): the index
      // keeps the newest record per key, and an older refusal would be passed over.
      verifiedAt: Math.max(this.clock.now(), held.verifiedAt + 1),
      outcome: 'refused',
      evidence: [],
    });
  }

  /**
   * The verdict to admit `subject` by during an outage: verified, never refused since, under the
   * same policy revision and trust material (both part of the key), within `admitVerifiedWithin`.
   */
  admissible(subject: Omit<VerdictSubject, 'rule'>, window: LedgerWindow): LedgerAnswer | undefined {
    if (this.keeper?.health.admission !== 'on') return undefined;
    const record = this.index.verdict(subject);
    if (record === undefined || record.outcome !== 'verified') return undefined;
    // Belt and braces: the key holds both, but a record must never answer for another revision or trust.
    if (record.revision !== subject.revision || record.trust !== subject.trust) return undefined;
    const ageMs = this.clock.now() - record.verifiedAt;
    if (ageMs < -FUTURE_TOLERANCE_MS || ageMs > window.admitVerifiedWithinMs) return undefined;
    return { record, ageMs: Math.max(0, ageMs) };
  }

  /** Counts an admission the engine made from the ledger. */
  admitted(rule: string): void {
    this.emit({ type: 'admission', rule });
  }

  recordTag(subject: TagSubject, digest: string): void {
    if (!this.keeper) return;
    const held = this.index.tag(subject);
    // The same answer again is news only once it is worth a line: when the held one is an hour old.
    if (held?.digest === digest && this.clock.now() - held.resolvedAt < 3_600_000) return;
    // A move is dated after the resolution it replaces, as a refusal is (see recordRefused).
    const resolvedAt =
      held === undefined ? this.clock.now() : Math.max(this.clock.now(), held.resolvedAt + 1);
    this.keeper.append({ type: 'tag', ...subject, digest, resolvedAt });
  }

  /** The tag's last resolution, if the ledger is sound and it is within `admitVerifiedWithin`. */
  lastTag(subject: TagSubject, window: LedgerWindow): LedgerPin | undefined {
    if (this.keeper?.health.admission !== 'on') return undefined;
    const record = this.index.tag(subject);
    if (record === undefined) return undefined;
    const ageMs = this.clock.now() - record.resolvedAt;
    if (ageMs < -FUTURE_TOLERANCE_MS || ageMs > window.admitVerifiedWithinMs) return undefined;
    this.emit({ type: 'pin' });
    return { record, ageMs: Math.max(0, ageMs) };
  }

  /** A verdict in use: kept warm by the background refresher while it is. */
  use(digest: HotDigest): void {
    if (this.keeper) this.hot.use(digest);
  }

  /** The key a hot digest is known by. */
  static keyOf(subject: Omit<VerdictSubject, 'rule'>): string {
    return verdictKey(subject);
  }

  private emit(event: LedgerEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

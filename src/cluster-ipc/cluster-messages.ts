import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { AllConfigType } from '../config';
import type { ServingStateSnapshot } from './serving-state-snapshot';

// The primary and its workers talk over the cluster IPC channel. Types are prefixed so they never
// collide with prom-client's own metric-aggregation messages on the same channel.

/** What a worker may ask the primary for, on behalf of a request to its TLS port. */
export type ClusterQuestion = '/readyz' | '/metrics';

/** An HTTP answer, as the primary's health port gives it. */
export interface ClusterAnswer {
  readonly status: number;
  readonly type: string;
  readonly text: string;
}

/** A worker's metrics as prom-client's `getMetricsAsJSON` gives them. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * A change of a file every worker watches, as one worker saw it: the primary counts each change
 * once however many workers report it, telling them apart by `key` (from which policy revision or
 * certificate fingerprint to which, or what was refused while which was in force).
 */
export interface FileChange {
  readonly file: 'policy' | 'certificate';
  readonly result: 'applied' | 'refused';
  readonly key: string;
}

export type PrimaryMessage =
  | { readonly type: 'kib:start'; readonly config: AllConfigType }
  | { readonly type: 'kib:shutdown' }
  | { readonly type: 'kib:readyz'; readonly id: number }
  | { readonly type: 'kib:metrics'; readonly id: number }
  | { readonly type: 'kib:answer'; readonly id: number; readonly answer: ClusterAnswer };

export type WorkerMessage =
  | { readonly type: 'kib:listening'; readonly address: string; readonly port: number }
  | { readonly type: 'kib:draining' }
  /** The worker could not start; `usage` when the flags or files are at fault, not the bouncer. */
  | { readonly type: 'kib:start-failed'; readonly message: string; readonly usage: boolean }
  | {
      readonly type: 'kib:readyz';
      readonly id: number;
      readonly ready: boolean;
      readonly body: unknown;
      /** What the worker serves and enforces; absent until both have loaded. */
      readonly state?: ServingStateSnapshot;
    }
  | { readonly type: 'kib:ask'; readonly id: number; readonly question: ClusterQuestion }
  | { readonly type: 'kib:metrics'; readonly id: number; readonly metrics: MetricsSnapshot }
  | { readonly type: 'kib:file-change'; readonly change: FileChange }
  /** What a worker says about the policy file, which the primary logs once for all (PolicyStore.onNotice). */
  | { readonly type: 'kib:policy-notice'; readonly level: 'error' | 'warn'; readonly message: string };

export const isMessage = <T extends { type: string }>(message: unknown, type: T['type']): message is T =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

import type { AllConfigType } from '../config/bouncer-config';

// The primary and its workers talk over the cluster IPC channel. Types are prefixed so they never
// collide with prom-client's own metric-aggregation messages on the same channel.

export type PrimaryMessage =
  | { readonly type: 'kib:start'; readonly config: AllConfigType }
  | { readonly type: 'kib:shutdown' }
  | { readonly type: 'kib:readyz'; readonly id: number };

export type WorkerMessage =
  | { readonly type: 'kib:listening'; readonly address: string; readonly port: number }
  | { readonly type: 'kib:draining' }
  /** The worker could not start; `usage` when the flags or files are at fault, not the bouncer. */
  | { readonly type: 'kib:start-failed'; readonly message: string; readonly usage: boolean }
  | { readonly type: 'kib:readyz'; readonly id: number; readonly ready: boolean; readonly body: unknown };

export const isMessage = <T extends { type: string }>(message: unknown, type: T['type']): message is T =>
  typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;

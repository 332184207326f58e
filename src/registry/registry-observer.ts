import { CacheEvent } from '../cache';
import type { ByteBudgetName } from './byte-budget';
import type { Hop, HopRefusalReason } from './connection-guard';
import { RegistryFailureReason } from './registry-failure';

export type RegistryOperation = 'resolve' | 'manifest' | 'blob' | 'referrers' | 'token';

/** One HTTP exchange with a registry or its token server, as metrics count it. */
export interface RegistryRequestEvent {
  readonly registry: string;
  readonly operation: RegistryOperation;
  /** `ok`, or why it failed. */
  readonly outcome: 'ok' | RegistryFailureReason;
  readonly seconds: number;
}

/** A connection the guard refused to make. Never labelled by host: anyone who may create a pod names one. */
export interface HopRefusedEvent {
  readonly hop: Hop;
  readonly reason: HopRefusalReason;
}

/**
 * A body refused for a byte budget: the review's own would be exceeded, or the worker's stayed full
 * until the read's deadline.
 */
export interface BudgetExceededEvent {
  readonly budget: ByteBudgetName;
  readonly operation: RegistryOperation;
}

export interface RegistryObserver {
  request(event: RegistryRequestEvent): void;
  cache(cache: string, event: CacheEvent): void;
  hopRefused?(event: HopRefusedEvent): void;
  budgetExceeded?(event: BudgetExceededEvent): void;
}

/** The observers of one client, told of everything its parts do. */
export class RegistryObservers {
  private readonly observers: RegistryObserver[] = [];

  add(observer: RegistryObserver): void {
    this.observers.push(observer);
  }

  request(event: RegistryRequestEvent): void {
    for (const observer of this.observers) observer.request(event);
  }

  cache(cache: string, event: CacheEvent): void {
    for (const observer of this.observers) observer.cache(cache, event);
  }

  hopRefused(event: HopRefusedEvent): void {
    for (const observer of this.observers) observer.hopRefused?.(event);
  }

  budgetExceeded(event: BudgetExceededEvent): void {
    for (const observer of this.observers) observer.budgetExceeded?.(event);
  }
}

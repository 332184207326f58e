import { Injectable } from '@nestjs/common';

/**
 * The ledger's one source of "now", for every age it judges. Tests replace `now` to walk a verdict
 * past `admitVerifiedWithin` without waiting a day.
 */
@Injectable()
export class LedgerClock {
  now(): number {
    return Date.now();
  }
}

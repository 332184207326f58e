// The audit line of each review, as the adapters that answer reviews call it.
export { AuditModule } from './audit.module';
export { ReviewAuditService } from './review-audit.service';
export type { ReviewSubject } from './review-audit.service';

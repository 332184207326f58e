import { Global, Module } from '@nestjs/common';
import { ReviewAuditService } from './review-audit.service';

@Global()
@Module({ providers: [ReviewAuditService], exports: [ReviewAuditService] })
export class AuditModule {}

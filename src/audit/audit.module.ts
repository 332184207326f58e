import { Module } from '@nestjs/common';
import { MetricsModule } from '../metrics';
import { ReviewAuditService } from './review-audit.service';

@Module({ imports: [MetricsModule], providers: [ReviewAuditService], exports: [ReviewAuditService] })
export class AuditModule {}

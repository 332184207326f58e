import { Module } from '@nestjs/common';
import { TlsMaterialService } from './tls-material.service';

@Module({ providers: [TlsMaterialService], exports: [TlsMaterialService] })
export class TlsModule {}

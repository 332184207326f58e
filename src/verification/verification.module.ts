import { Module } from '@nestjs/common';
import { RegistryModule } from '../registry';
import { ImageVerifier } from './image-verifier.service';

@Module({ imports: [RegistryModule], providers: [ImageVerifier], exports: [ImageVerifier] })
export class VerificationModule {}

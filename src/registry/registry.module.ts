import { Module } from '@nestjs/common';
import { DigestResolver } from './digest-resolver';
import { RegistryClient } from './registry-client';

@Module({ providers: [RegistryClient, DigestResolver], exports: [RegistryClient, DigestResolver] })
export class RegistryModule {}

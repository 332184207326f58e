/**
 * A second reference point: Nest 11 on Express with one POST controller reading `@Body()`, doing
 * the baseline's work, over the same TLS. Together with the Express floor it separates what the
 * frameworks the design card requires cost from what the bouncer adds.
 * Usage: node nest-floor-server.js CERT KEY PORT
 */
import 'reflect-metadata';
import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, NestExpressApplication } from '@nestjs/platform-express';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certificate, key, port] = process.argv.slice(2);

interface Review {
  spec?: { containers?: { image?: string }[] };
  request?: { object?: { spec?: { containers?: { image?: string }[] } } };
}

@Controller()
class ReviewController {
  @Post(['image_policy', 'validate'])
  @HttpCode(200)
  review(@Body() review: Review): object {
    const containers = review.spec?.containers ?? review.request?.object?.spec?.containers ?? [];
    return {
      apiVersion: 'imagepolicy.k8s.io/v1alpha1',
      kind: 'ImageReview',
      status: { allowed: true, images: containers.length },
    };
  }
}

@Module({ controllers: [ReviewController] })
class FloorModule {}

async function main(): Promise<void> {
  const adapter = new ExpressAdapter();
  const app = await NestFactory.create<NestExpressApplication>(FloorModule, adapter, {
    logger: false,
    bodyParser: false,
  });
  app.useBodyParser('json', { limit: '7mb' });
  await app.init();
  const express = adapter.getInstance<import('express').Express>();
  express.disable('etag');
  express.disable('x-powered-by');
  createServer(
    { cert: readFileSync(certificate), key: readFileSync(key), minVersion: 'TLSv1.2', noDelay: true },
    express,
  ).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
}

// An orderly exit, so that `node --cpu-prof` (bench/profile-review.ts) writes its profile.
process.once('SIGTERM', () => process.exit(0));
void main();

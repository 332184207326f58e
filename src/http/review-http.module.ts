import { Module } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, DiscoveryModule } from '@nestjs/core';
import { HttpErrorFilter } from './http-error.filter';
import { ReviewEnvelopePipe } from './review-envelope.pipe';

/**
 * The global pipe and last-resort filter, as providers so that a TestingModule of one controller
 * gets exactly what the server runs. DiscoveryModule lets the pipe check every body DTO at boot.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    { provide: APP_PIPE, useClass: ReviewEnvelopePipe },
    { provide: APP_FILTER, useClass: HttpErrorFilter },
  ],
})
export class ReviewHttpModule {}

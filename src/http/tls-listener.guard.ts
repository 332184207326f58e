import { CanActivate, ExecutionContext, Injectable, NotFoundException } from '@nestjs/common';
import type { Request } from 'express';
import type { TLSSocket } from 'node:tls';

/**
 * Reviews are answered only on the TLS listener. The same Express app also serves the plain-HTTP
 * health port, and a review reaching it would bypass TLS and client-certificate checks.
 */
@Injectable()
export class TlsListenerGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if ((request.socket as Partial<TLSSocket>).encrypted !== true) {
      throw new NotFoundException(`Cannot ${request.method} ${request.path} on the health port`);
    }
    return true;
  }
}

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { HEALTH_PORT_ROUTES } from '../http';

/** The JSON body of a 404 on the health port, for anything but a probe or a scrape. */
export const healthPortNotFoundBody = (method: string | undefined, path: string): string =>
  JSON.stringify({
    statusCode: 404,
    error: 'Not Found',
    message: `Cannot ${method} ${path} on the health port; reviews are served over TLS`,
  });

/**
 * The plain-HTTP health listener serves probes and metrics only. Reviews must never be answered
 * here: this port has neither TLS nor client-certificate checks.
 */
export function healthOnly(app: RequestListener): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method === 'GET' && HEALTH_PORT_ROUTES.has(path)) {
      app(request, response);
      return;
    }
    request.resume();
    const body = healthPortNotFoundBody(request.method, path);
    response.writeHead(404, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
    });
    response.end(body);
  };
}

/**
 * The least a validating webhook can be, for `npm run bench:apiserver`'s `allowAllWebhook` case: a
 * bare `node:https` server that parses each AdmissionReview and allows it, with a warning that says
 * it answered. Timed through the same apiserver, webhook configuration and serving certificate as
 * the bouncer, it is what calling any webhook at all costs on the machine, so that what the bouncer
 * adds can be read beside it.
 *
 *   node allow-all-webhook.js CERT KEY PORT
 */
import { readFileSync } from 'node:fs';
import { Server, createServer } from 'node:https';

/** In the Warning header of every pod it admitted, which is how the bench knows it was called. */
export const ALLOW_ALL_WARNING = 'allowed by the allow-all webhook';

/** Allows every AdmissionReview it is sent, answering its uid, with ALLOW_ALL_WARNING. */
export function allowAllWebhook(certPem: string | Buffer, keyPem: string | Buffer): Server {
  return createServer({ cert: certPem, key: keyPem, noDelay: true }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let uid = '';
      try {
        uid =
          (JSON.parse(Buffer.concat(chunks).toString()) as { request?: { uid?: string } }).request?.uid ?? '';
      } catch {
        uid = '';
      }
      const body = JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid, allowed: true, warnings: [ALLOW_ALL_WARNING] },
      });
      response.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(body),
      });
      response.end(body);
    });
  });
}

function main(): void {
  const [certPath, keyPath, port] = process.argv.slice(2);
  const server = allowAllWebhook(readFileSync(certPath), readFileSync(keyPath));
  server.listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

if (require.main === module) main();

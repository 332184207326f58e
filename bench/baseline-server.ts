/**
 * The ceiling: a minimal node:https server that reads the body, JSON.parses it, pulls the image
 * strings out and answers a fixed allow. Same TLS material and socket options as the bouncer.
 * Usage: node baseline-server.js CERT KEY PORT
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certificate, key, port] = process.argv.slice(2);

interface Review {
  spec?: { containers?: { image?: string }[] };
  request?: { object?: { spec?: { containers?: { image?: string }[] } } };
}

const ALLOW = JSON.stringify({
  apiVersion: 'imagepolicy.k8s.io/v1alpha1',
  kind: 'ImageReview',
  status: { allowed: true },
});

createServer(
  { cert: readFileSync(certificate), key: readFileSync(key), minVersion: 'TLSv1.2', noDelay: true },
  (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
      const containers = review.spec?.containers ?? review.request?.object?.spec?.containers ?? [];
      const images = containers.map((c) => c.image);
      response.writeHead(200, { 'Content-Type': 'application/json', 'X-Images': String(images.length) });
      response.end(ALLOW);
    });
  },
).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));

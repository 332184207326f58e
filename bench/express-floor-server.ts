/**
 * A reference point between the baseline and the bouncer: Express with its JSON body parser and
 * the same work as the baseline, no Nest and no policy. It shows what the framework the design
 * card requires costs on this machine by itself.
 * Usage: node express-floor-server.js CERT KEY PORT
 */
import express from 'express';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [certificate, key, port] = process.argv.slice(2);

interface Review {
  spec?: { containers?: { image?: string }[] };
  request?: { object?: { spec?: { containers?: { image?: string }[] } } };
}

const app = express();
app.disable('etag');
app.disable('x-powered-by');
app.use(express.json({ limit: '7mb' }));
app.post(['/image_policy', '/validate'], (request, response) => {
  const review = request.body as Review;
  const containers = review.spec?.containers ?? review.request?.object?.spec?.containers ?? [];
  response.json({
    apiVersion: 'imagepolicy.k8s.io/v1alpha1',
    kind: 'ImageReview',
    status: { allowed: true, images: containers.length },
  });
});
createServer(
  { cert: readFileSync(certificate), key: readFileSync(key), minVersion: 'TLSv1.2', noDelay: true },
  app,
).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));

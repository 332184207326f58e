// Starting, announcing and draining the HTTPS server.
export { healthPortNotFoundBody } from './health-listener';
export { ListenError, listenOn } from './listen-error';
export { announceDraining, announceServing, announceWorkers } from './serving-announcement';
export { startWebhookServer } from './webhook-server';
export type { RunningWebhookServer } from './webhook-server';

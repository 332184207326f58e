import { connect as tcpConnect } from 'node:net';
import { ConnectionOptions, connect } from 'node:tls';
import { imageReview } from '../support/reviews';
import { TestPki, createTestPki } from '../support/test-pki';
import { BouncerUnderTest, startBouncer } from './support/bouncer-under-test';

const REVIEW = JSON.stringify(imageReview(['nginx:1.25']));
const REQUEST = `POST /image_policy HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(REVIEW)}\r\n\r\n${REVIEW}`;

const CLOSED = expect.stringMatching(/^(closed|ECONNRESET)$/) as string;

/** How an attempt to send a review ended, as the client saw it. */
interface Attempt {
  /** Whether the client considered its TLS handshake complete (TLS 1.3 clients do, before the server has checked their certificate). */
  readonly handshake: boolean;
  /** The first line of any HTTP response. */
  readonly response?: string;
  /** The error code, or 'closed' when the server closed without one. */
  readonly ended: string;
}

function sendReview(port: number, options: ConnectionOptions): Promise<Attempt> {
  return new Promise((resolve) => {
    let handshake = false;
    let received = '';
    const done = (ended: string): void => {
      socket.destroy();
      resolve({ handshake, ended, ...(received ? { response: received.split('\r\n')[0] } : {}) });
    };
    const socket = connect({ host: '127.0.0.1', port, ...options }, () => {
      handshake = true;
      socket.write(REQUEST);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      if (received.includes('\r\n\r\n')) done('answered');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    socket.on('close', () => done('closed'));
  });
}

/**
 * The review port speaks only TLS 1.2 or newer, and with --client-ca only to clients presenting a
 * valid certificate from that CA. Each refusal is checked for how it happens, and that no review
 * reached the application.
 */
describe('TLS refusals on the review port (mutual TLS)', () => {
  let pki: TestPki;
  let bouncer: BouncerUnderTest;
  const pair = (issued: { certificatePem: string; privateKeyPem: string }) => ({
    cert: issued.certificatePem,
    key: issued.privateKeyPem,
  });
  const reviewsCounted = async (): Promise<number> =>
    (await bouncer.metrics())
      .filter((s) => s.name === 'kube_image_bouncer_requests_total')
      .reduce((sum, s) => sum + s.value, 0);

  beforeAll(async () => {
    pki = await createTestPki();
    bouncer = await startBouncer({ pki });
  });
  afterAll(() => bouncer.stop());

  it('answers a client with a certificate from the CA (so that the refusals below are refusals)', async () => {
    const before = await reviewsCounted();
    const attempt = await sendReview(bouncer.port, { ca: pki.ca.certificatePem, ...pair(pki.client) });
    expect(attempt).toEqual({ handshake: true, ended: 'answered', response: 'HTTP/1.1 200 OK' });
    expect(await reviewsCounted()).toBe(before + 1);
  });

  describe.each([
    [
      'no client certificate, TLS 1.3',
      () => ({}),
      { handshake: true, ended: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' },
    ],
    [
      'no client certificate, TLS 1.2',
      () => ({ maxVersion: 'TLSv1.2' as const }),
      { handshake: false, ended: 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' },
    ],
    // Node checks the chain once the handshake is done and closes the connection, without an alert
    // (a reset, when the request it never read is still in its buffer).
    ['a certificate from another CA', () => pair(pki.otherCaClient), { handshake: true, ended: CLOSED }],
    ['an expired client certificate', () => pair(pki.expiredClient), { handshake: true, ended: CLOSED }],
    [
      'TLS 1.0',
      () => ({
        ...pair(pki.client),
        minVersion: 'TLSv1' as const,
        maxVersion: 'TLSv1' as const,
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
      { handshake: false, ended: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
    ],
    [
      'TLS 1.1',
      () => ({
        ...pair(pki.client),
        minVersion: 'TLSv1.1' as const,
        maxVersion: 'TLSv1.1' as const,
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
      { handshake: false, ended: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION' },
    ],
  ])('%s', (_case, options, refusal) => {
    it('is refused before any HTTP is exchanged, and no review is counted', async () => {
      const before = await reviewsCounted();
      const attempt = await sendReview(bouncer.port, { ca: pki.ca.certificatePem, ...options() });
      expect(attempt).toEqual(refusal);
      expect(await reviewsCounted()).toBe(before);
    });
  });

  it('closes a plain-HTTP connection on the TLS port without a byte of response', async () => {
    const before = await reviewsCounted();
    const outcome = await new Promise<{ received: string; ended: string }>((resolve) => {
      let received = '';
      const socket = tcpConnect(bouncer.port, '127.0.0.1', () => socket.write(REQUEST));
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('hex')));
      socket.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ received, ended: error.code ?? error.message }),
      );
      socket.on('close', () => resolve({ received, ended: 'closed' }));
    });
    expect(outcome).toEqual({ received: '', ended: 'closed' });
    expect(await reviewsCounted()).toBe(before);
    expect(bouncer.running()).toBe(true);
  });
});

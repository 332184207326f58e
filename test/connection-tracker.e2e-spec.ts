import { createServer, Server } from 'node:http';
import { AddressInfo, Socket, connect } from 'node:net';
import { ConnectionTracker } from '../src/server/connection-tracker';

/** Blocks the event loop, as a busy worker on a loaded machine does. */
const stall = (ms: number): void => {
  const until = Date.now() + ms;
  while (Date.now() < until);
};

const request = 'POST /validate HTTP/1.1\r\nHost: bouncer\r\nContent-Length: 2\r\n\r\n{}';

describe(ConnectionTracker.name, () => {
  let server: Server;
  let sut: ConnectionTracker;
  let requestSeen: Promise<() => void>;

  beforeEach(async () => {
    sut = new ConnectionTracker();
    let seen: (answer: () => void) => void;
    requestSeen = new Promise((resolve) => (seen = resolve));
    server = createServer((_request, response) => {
      // Answered only when the test says so: the request stays in flight until then.
      seen(() => response.end('ok'));
    });
    sut.track(server, false);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterEach(async () => {
    sut.closeAll();
    await new Promise((resolve) => server.close(resolve));
  });

  const connected = async (): Promise<{
    socket: Socket;
    received: () => string;
    closed: Promise<string>;
  }> => {
    const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const closed = new Promise<string>((resolve) => {
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      socket.once('close', () => resolve('closed'));
    });
    await new Promise((resolve) => socket.once('connect', resolve));
    // The server has seen the connection once a round trip through the loop has passed.
    await new Promise((resolve) => setImmediate(resolve));
    return { socket, received: () => text, closed };
  };

  it('closes a connection that sends nothing after the drain began', async () => {
    const { closed } = await connected();
    sut.drain();
    expect(await closed).toBe('closed');
  });

  it('keeps a connection whose request came while the loop was stalled past the last call', async () => {
    const { socket, received, closed } = await connected();
    sut.drain();
    socket.write(request);
    // The request is in the kernel, unread, when the last call's timer fires.
    stall(400);
    const answer = await Promise.race([requestSeen, closed.then((how) => `the connection ${how} first`)]);
    if (typeof answer === 'string') throw new Error(answer);
    answer();
    const response = await new Promise<string>((resolve) => {
      const check = (): void => void (received().endsWith('ok') && resolve(received()));
      socket.on('data', check);
      void closed.then(() => resolve(received()));
      check();
    });
    expect(response).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
    socket.destroy();
    expect(await closed).toBe('closed');
  });
});

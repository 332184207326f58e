import type { Server } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A listener that cannot open: the flags name an address this machine cannot serve on. */
export class ListenError extends Error {
  override name = 'ListenError';
}

/** Which flag gave the port: the review listener's, or the probes'. */
export type PortFlag = '--port' | '--health-port';

// Said the way the person who typed the flags can act on them.
const REASONS: Record<string, string> = {
  EADDRINUSE: 'the port is already in use',
  EADDRNOTAVAIL: 'no network interface of this machine has that address',
  EACCES: 'permission denied (ports below 1024 need privileges)',
  ENOTFOUND: 'the host name does not resolve to an address',
  EAI_AGAIN: 'the host name could not be resolved (try again, or give an IP address)',
  EAI_NONAME: 'the host name does not resolve to an address',
  EAFNOSUPPORT: 'this machine does not support that kind of address',
};

export function listenError(error: unknown, host: string, flag: PortFlag, port: number): ListenError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = (code && REASONS[code]) ?? (error instanceof Error ? error.message : String(error));
  return new ListenError(`cannot listen on --host ${host} ${flag} ${port}: ${reason}`);
}

/** Listens on host and port; an address that cannot be had is a ListenError naming the flags. */
export function listenOn(server: Server, host: string, flag: PortFlag, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error): void => reject(listenError(error, host, flag, port));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve(server.address() as AddressInfo);
    });
  });
}

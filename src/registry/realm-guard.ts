import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';

// Addresses a token realm named by a registry may not point at, unless the policy vouches for the
// host: an unchecked realm lets a registry (or whoever controls an image name) make the bouncer
// call into the network it runs in. go-containerregistry keeps only the registry's own host:port.
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(network, prefix, 'ipv6');

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A DNS lookup that refuses names resolving to private, loopback or link-local addresses. */
export const publicAddressLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => isPrivateAddress(a.address));
    if (refused)
      return callback(
        Object.assign(new Error(`token realm ${hostname} resolves to a private address`), { code: 'EREALM' }),
        '',
        0,
      );
    if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

/** How a realm may be fetched, or why it may not. */
export type RealmVerdict =
  | { readonly allowed: true; readonly url: URL; readonly publicOnly: boolean }
  | { readonly allowed: false; readonly why: string };

/**
 * Whether the bouncer may fetch a token from `realm`, which a registry's 401 named. It must be
 * https unless the registry itself is configured insecure. A realm on the registry's own host, or
 * on a host the policy lists, may be anywhere; any other must be a public address, which the
 * connection's own DNS lookup enforces (`publicOnly`), so a name cannot be re-pointed in between.
 */
export function judgeRealm(
  realm: string,
  registry: { readonly host: string; readonly insecure: boolean },
  listed: (host: string) => boolean,
): RealmVerdict {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return { allowed: false, why: `token realm ${JSON.stringify(realm)} is not a URL` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && registry.insecure))
    return { allowed: false, why: `token realm ${url.origin} is not https` };
  if (url.username || url.password) return { allowed: false, why: 'token realm carries credentials' };
  if (url.host.toLowerCase() === registry.host.toLowerCase() || listed(url.host))
    return { allowed: true, url, publicOnly: false };
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(hostname) !== 0 && isPrivateAddress(hostname))
    return { allowed: false, why: `token realm ${url.host} is a private address the policy does not list` };
  return { allowed: true, url, publicOnly: true };
}

import { isIP } from 'node:net';

/**
 * Whether the bouncer may connect to an address it was not told to trust, and if not, what kind of
 * address it is. Public means globally reachable unicast: every special-purpose block of the IANA
 * registries that is not is refused, since reaching one means reaching into the network the bouncer
 * runs in (or, for documentation and benchmarking blocks, nowhere a registry lives).
 * https://www.iana.org/assignments/iana-ipv4-special-registry/
 * https://www.iana.org/assignments/iana-ipv6-special-registry/
 */
export type AddressClass =
  { readonly public: true } | { readonly public: false; readonly kind: RefusedAddressKind };

/**
 * `private` covers every block that reaches inside a network (RFC 1918, loopback, link-local, CGNAT,
 * unique local, multicast, reserved, documentation, benchmarking). The others are IPv6 forms that
 * carry an IPv4 address the bouncer refuses to judge, so they are refused whatever they carry.
 */
export type RefusedAddressKind = 'private' | 'IPv4-compatible' | '6to4' | 'Teredo' | 'local-use NAT64';

const PUBLIC: AddressClass = { public: true };
const refused = (kind: RefusedAddressKind): AddressClass => ({ public: false, kind });

// IPv4 special-purpose blocks that are not globally reachable destinations.
const IPV4_REFUSED: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // carrier-grade NAT, RFC 6598
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, cloud metadata endpoints
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments (NAT64 discovery, DS-Lite…)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast, deprecated by RFC 7526
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking, RFC 2544
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the limited broadcast address
];

const ipv4Number = (address: string): number =>
  address.split('.').reduce((value, octet) => value * 256 + Number(octet), 0);

const IPV4_BLOCKS = IPV4_REFUSED.map(([network, prefix]) => ({
  network: ipv4Number(network),
  size: 2 ** (32 - prefix),
}));

function classifyIpv4(address: number): AddressClass {
  const inBlock = IPV4_BLOCKS.some(({ network, size }) => address >= network && address < network + size);
  return inBlock ? refused('private') : PUBLIC;
}

/** The 16 bytes of an IPv6 address (validated by `isIP` first), a zone index dropped. */
function ipv6Bytes(address: string): Uint8Array {
  const text = address.replace(/%.*$/, '');
  const bytes = new Uint8Array(16);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined): number[] => {
    if (!part) return [];
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [parseInt(group, 16)];
      // An embedded dotted IPv4 address fills the last two groups.
      const value = ipv4Number(group);
      return [Math.floor(value / 65536), value % 65536];
    });
  };
  const first = groups(head);
  const last = groups(tail);
  const all = [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
  all.forEach((group, index) => {
    bytes[index * 2] = group >> 8;
    bytes[index * 2 + 1] = group & 0xff;
  });
  return bytes;
}

/** Whether the first `bits` of `bytes` are those of `prefix` (given as bytes). */
function startsWith(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const mask = bits - bit >= 8 ? 0xff : (0xff << (8 - (bits - bit))) & 0xff;
    if ((bytes[bit / 8] & mask) !== ((prefix[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

const embeddedIpv4 = (bytes: Uint8Array, at = 12): number =>
  ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];

function classifyIpv6(bytes: Uint8Array): AddressClass {
  // Forms that reach the IPv4 address they carry are judged by it: IPv4-mapped (::ffff:0:0/96),
  // which Node connects to as that IPv4 address, and the NAT64 well-known prefix (64:ff9b::/96,
  // RFC 6052), which a DNS64 resolver may hand out for any IPv4 name.
  if (startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff], 96))
    return classifyIpv4(embeddedIpv4(bytes));
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b], 96)) return classifyIpv4(embeddedIpv4(bytes));
  // Forms refused whatever they carry. Local-use NAT64 (64:ff9b:1::/48, RFC 8215) maps a network's
  // own IPv4 space, at a prefix length the bouncer cannot know. IPv4-compatible (::a.b.c.d) is
  // deprecated (RFC 4291) and :: and ::1 are in it. 6to4 (2002::/16) and Teredo (2001::/32) tunnel
  // to IPv4 hosts through relays (Teredo obfuscates the address it carries); both are deprecated
  // for this use and no registry needs them.
  if (startsWith(bytes, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48)) return refused('local-use NAT64');
  if (startsWith(bytes, [], 96)) {
    const last = embeddedIpv4(bytes);
    return last <= 1 ? refused('private') : refused('IPv4-compatible');
  }
  if (startsWith(bytes, [0x20, 0x02], 16)) return refused('6to4');
  if (startsWith(bytes, [0x20, 0x01, 0x00, 0x00], 32)) return refused('Teredo');
  // Only global unicast (2000::/3) is public, less its special-purpose blocks: IETF protocol
  // assignments (2001::/23: benchmarking, ORCHID…), documentation (2001:db8::/32, 3fff::/20).
  if (!startsWith(bytes, [0x20], 3)) return refused('private');
  if (startsWith(bytes, [0x20, 0x01, 0x00], 23)) return refused('private');
  if (startsWith(bytes, [0x20, 0x01, 0x0d, 0xb8], 32)) return refused('private');
  if (startsWith(bytes, [0x3f, 0xff], 20)) return refused('private');
  return PUBLIC;
}

/** How the guard judges an IP address; `undefined` for a name, which only a DNS lookup can judge. */
export function classifyAddress(address: string): AddressClass | undefined {
  const unbracketed = address.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(unbracketed.replace(/%.*$/, ''));
  if (family === 4) return classifyIpv4(ipv4Number(unbracketed));
  if (family === 6) return classifyIpv6(ipv6Bytes(unbracketed));
  return undefined;
}

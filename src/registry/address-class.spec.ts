import { classifyAddress } from './address-class';

describe(classifyAddress.name, () => {
  it.each([
    ['10.0.0.1', '10/8'],
    ['10.255.255.255', '10/8'],
    ['172.16.0.1', '172.16/12'],
    ['172.31.255.255', '172.16/12'],
    ['192.168.1.1', '192.168/16'],
    ['127.0.0.1', '127/8'],
    ['127.255.0.9', '127/8'],
    ['169.254.169.254', '169.254/16 (cloud metadata)'],
    ['100.64.0.1', '100.64/10 (carrier-grade NAT)'],
    ['100.127.255.255', '100.64/10 (carrier-grade NAT)'],
    ['0.0.0.0', '0/8'],
    ['192.0.0.170', '192.0.0/24 (IETF protocol assignments)'],
    ['192.0.2.1', 'TEST-NET-1'],
    ['192.88.99.1', '6to4 relay anycast'],
    ['198.18.0.1', '198.18/15 (benchmarking)'],
    ['198.19.255.255', '198.18/15 (benchmarking)'],
    ['198.51.100.7', 'TEST-NET-2'],
    ['203.0.113.7', 'TEST-NET-3'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'limited broadcast'],
    ['::1', 'IPv6 loopback'],
    ['::', 'IPv6 unspecified'],
    ['fc00::1', 'unique local fc00::/7'],
    ['fd12:3456::1', 'unique local fc00::/7'],
    ['fe80::1', 'link-local fe80::/10'],
    ['fe80::1%eth0', 'link-local with a zone index, as a lookup may give it'],
    ['febf::1', 'link-local fe80::/10'],
    ['fec0::1', 'site-local fec0::/10'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard-only 100::/64'],
    ['2001:2::1', 'benchmarking 2001:2::/48'],
    ['2001:10::1', 'ORCHID'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation 3fff::/20'],
    ['5f00::1', 'SRv6 SIDs, outside global unicast'],
    ['[::1]', 'a bracketed literal, as a URL host has it'],
  ])('refuses %s as private (%s)', (address) => {
    expect(classifyAddress(address)).toEqual({ public: false, kind: 'private' });
  });

  it.each([
    ['::ffff:10.0.0.1', 'IPv4-mapped 10/8'],
    ['::FFFF:127.0.0.1', 'IPv4-mapped 127/8'],
    ['::ffff:a00:1', 'IPv4-mapped 10/8, in the hex form URL parsing gives'],
    ['::ffff:7f00:1', 'IPv4-mapped 127.0.0.1, in hex'],
    ['64:ff9b::7f00:1', 'NAT64 well-known prefix carrying 127.0.0.1'],
    ['64:ff9b::10.1.2.3', 'NAT64 well-known prefix carrying 10.1.2.3'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 well-known prefix carrying 169.254.169.254'],
  ])('judges %s by the IPv4 address it carries, and refuses it (%s)', (address) => {
    expect(classifyAddress(address)).toEqual({ public: false, kind: 'private' });
  });

  it.each(['::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8', '64:ff9b::808:808'])(
    'judges %s by the public IPv4 address it carries, and allows it',
    (address) => {
      expect(classifyAddress(address)).toEqual({ public: true });
    },
  );

  it.each([
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['64:ff9b:1:ffff::808:808', 'local-use NAT64'],
    ['::127.0.0.1', 'IPv4-compatible'],
    ['::7f00:1', 'IPv4-compatible'],
    ['::8.8.8.8', 'IPv4-compatible'],
    ['2002:7f00:1::', '6to4'],
    ['2002:808:808::1', '6to4'],
    ['2001::1', 'Teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ])('refuses %s whatever IPv4 address it carries (%s)', (address, kind) => {
    expect(classifyAddress(address)).toEqual({ public: false, kind });
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '192.169.0.1',
    '100.63.255.255',
    '100.128.0.0',
    '169.255.0.1',
    '11.0.0.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '2001:200::1',
  ])('takes %s as public', (address) => {
    expect(classifyAddress(address)).toEqual({ public: true });
  });

  it('leaves a name, which is not an address, to the lookup that resolves it', () => {
    expect(classifyAddress('localhost')).toBeUndefined();
    expect(classifyAddress('registry.example.com')).toBeUndefined();
  });
});

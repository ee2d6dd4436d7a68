// The "source" the RN's admission accounts to: the peer's IPv4 address, or the /64 of an IPv6 peer.
// One IPv6 host is routinely given a whole /64, so per-address accounting would let it appear as
// 2^64 sources; WireGuard's kernel rate limiter keys IPv6 by the /64 for the same reason
// (drivers/net/wireguard/ratelimiter.c: "Only use 64 bits, so as to ratelimit the whole /64").
// TCP's handshake has already proved the peer can receive at this address, so it cannot be spoofed.

import { isIPv4, isIPv6 } from 'node:net';

/** Eight 16-bit groups of an IPv6 literal (`::` and a trailing dotted quad expanded). */
function ipv6Groups(a: string): number[] {
  let s = a;
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (quad !== null) {
    const [b0, b1, b2, b3] = quad.slice(1).map(Number) as [number, number, number, number];
    s = s.slice(0, quad.index) + ((b0 << 8) | b1).toString(16) + ':' + ((b2 << 8) | b3).toString(16);
  }
  const [head = '', tail] = s.split('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** The admission key of a peer address (`socket.remoteAddress`): IPv4 as is, IPv4-mapped IPv6 as IPv4, IPv6 as its /64. */
export function sourceKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  const a = address.toLowerCase().split('%')[0]!; // a zone id names our interface, not the peer
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped !== null) return mapped[1]!;
  if (isIPv4(a) || !isIPv6(a)) return a;
  return `${ipv6Groups(a)
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

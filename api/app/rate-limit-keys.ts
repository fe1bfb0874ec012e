/**
 * The rate limits' client key of an address: an IPv4 client by its address, an IPv6 client by its prefix
 * (a /64 by default, the smallest network a provider hands out, so that one host cannot take a fresh bucket
 * per address of its subnet), and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it
 * maps. Parsed strictly as text, without a platform's address library (the same code runs on Workers): a
 * zone id (`fe80::1%eth0`) is dropped, and anything that is not an address (a missing or malformed one) is
 * the one shared key `unknown`, so that malformed input can never make many buckets.
 */

/** The key of every client whose address is missing or malformed. */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * The four bytes of a dotted-quad IPv4 address (no leading zeros, each 0..255), or null: one pass over the
 * characters, as every request's client key starts here.
 */
function parseIpv4(text: string): number[] | null {
  const bytes: number[] = [];
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // the end closes the last byte as a dot does
    if (c === 0x2e) {
      if (digits === 0 || bytes.length === 4) return null;
      bytes.push(value);
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return null; // a leading zero
      value = 10 * value + (c - 0x30);
      digits++;
      if (value > 255) return null;
    } else return null;
  }
  return bytes.length === 4 ? bytes : null;
}

/** The 16-bit groups of one side of `::` (empty text: none), an embedded IPv4 tail allowed if `last`. */
function parseGroups(text: string, last: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const groups: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (last && i === parts.length - 1 && p.includes('.')) {
      const v4 = parseIpv4(p);
      if (!v4) return null;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) groups.push(Number.parseInt(p, 16));
    else return null;
  }
  return groups;
}

/** The eight 16-bit groups of an IPv6 address (compressed forms and an IPv4 tail allowed), or null. */
export function parseIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  if (halves.length === 1) {
    const groups = parseGroups(text, true);
    return groups?.length === 8 ? groups : null;
  }
  const head = parseGroups(halves[0], false);
  const tail = parseGroups(halves[1], true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Whether the groups are an IPv4-mapped address, ::ffff:0:0/96. */
function isIpv4Mapped(g: number[]): boolean {
  return g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
}

/** The key of an IPv6 address's first `prefixBits` bits: the masked groups in hex and the prefix length. */
function ipv6PrefixKey(g: number[], prefixBits: number): string {
  const masked = g.map((x, i) => {
    const keep = Math.max(0, Math.min(16, prefixBits - 16 * i));
    return keep === 0 ? 0 : x & ((0xffff << (16 - keep)) & 0xffff);
  });
  return `${masked.map((x) => x.toString(16)).join(':')}/${prefixBits}`;
}

/**
 * The client key of `address` (as a socket or `cf-connecting-ip` gives it): the IPv4 address, or the
 * IPv6 address's first `ipv6PrefixBits` bits (1 to 128), or `unknown`.
 */
export function clientKey(address: string | null | undefined, ipv6PrefixBits: number): string {
  if (typeof address !== 'string' || address.length === 0 || address.length > 64) return UNKNOWN_CLIENT;
  if (parseIpv4(address)) return address; // canonical as parsed: no leading zeros, so it is its own key
  const zone = address.indexOf('%');
  const bare = zone === -1 ? address : address.slice(0, zone);
  if (zone !== -1 && !/^[0-9A-Za-z._~-]{1,32}$/.test(address.slice(zone + 1))) return UNKNOWN_CLIENT;
  const g = parseIpv6(bare);
  if (!g) return UNKNOWN_CLIENT;
  if (isIpv4Mapped(g)) return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join('.');
  return ipv6PrefixKey(g, ipv6PrefixBits);
}

/** The rate limits' client keys (api/app/rate-limit-keys.ts): IPv4 by address, IPv6 by prefix, odd input shared. */
import { describe, expect, it } from 'vitest';
import { clientKey, parseIpv6, UNKNOWN_CLIENT } from '../../../api/app/rate-limit-keys.js';

describe('clientKey', () => {
  it('keys IPv4 clients by address, and IPv4-mapped IPv6 addresses as the IPv4 address', () => {
    expect(clientKey('203.0.113.7', 64)).toBe('203.0.113.7');
    expect(clientKey('0.0.0.0', 64)).toBe('0.0.0.0');
    expect(clientKey('255.255.255.255', 64)).toBe('255.255.255.255');
    expect(clientKey('10.0.200.9', 64)).toBe('10.0.200.9');
    expect(clientKey('::ffff:203.0.113.7', 64)).toBe('203.0.113.7');
    expect(clientKey('::FFFF:203.0.113.7', 64)).toBe('203.0.113.7');
    expect(clientKey('::ffff:cb00:7107', 64)).toBe('203.0.113.7');
    expect(clientKey('0:0:0:0:0:ffff:203.0.113.7', 64)).toBe('203.0.113.7');
  });

  it('keys IPv6 clients by their prefix, whatever the spelling', () => {
    const key = clientKey('2001:db8:1:2::1', 64);
    expect(key).toBe('2001:db8:1:2:0:0:0:0/64');
    for (const same of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:DB8:1:2::abcd',
      '2001:db8:1:2::1%eth0',
      '2001:db8:1:2:0:0:1.2.3.4',
    ])
      expect(clientKey(same, 64), same).toBe(key);
    expect(clientKey('2001:db8:1:3::1', 64)).not.toBe(key);
    expect(clientKey('2001:db8:1:3::1', 48)).toBe(clientKey('2001:db8:1:2::1', 48));
    expect(clientKey('2001:db8:1:2::1', 56)).toBe('2001:db8:1:0:0:0:0:0/56');
    expect(clientKey('2001:db8:1:2ff::1', 56)).toBe('2001:db8:1:200:0:0:0:0/56');
    expect(clientKey('::1', 128)).toBe('0:0:0:0:0:0:0:1/128');
    expect(clientKey('::', 64)).toBe('0:0:0:0:0:0:0:0/64');
    expect(clientKey('fe80::1', 1)).toBe('8000:0:0:0:0:0:0:0/1');
  });

  it('keys anything that is not an address as the one shared unknown client', () => {
    for (const odd of [
      undefined,
      null,
      '',
      'unknown',
      'localhost',
      '203.0.113',
      '203.0.113.256',
      '203.0.113.07',
      '203.0.113.7 ',
      ' 203.0.113.7',
      '203.0.113.7:443',
      '1.2.3.4.5',
      '1.2.3.4.',
      '.1.2.3',
      '1..2.3',
      '00.1.2.3',
      '1.2.3.0400',
      '1.2.3.2550',
      '1.2.3.-4',
      '1.2.3.+4',
      '1.2.3.4\n',
      '\uff11.2.3.4',
      '1.2.3.0x4',
      '2001:db8::1::2',
      '2001:db8:1:2:3:4:5:6:7',
      '2001:db8:1:2:3:4:5',
      '12345::1',
      'g::1',
      ':::',
      '[2001:db8::1]',
      '2001:db8::1%',
      '2001:db8::1%eth 0',
      '::ffff:1.2.3',
      '1.2.3.4::',
      `${'1:'.repeat(40)}1`,
    ])
      expect(clientKey(odd, 64), String(odd)).toBe(UNKNOWN_CLIENT);
  });

  it('parses IPv6 strictly', () => {
    expect(parseIpv6('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(parseIpv6('::2')).toEqual([0, 0, 0, 0, 0, 0, 0, 2]);
    expect(parseIpv6('1:2:3:4:5:6:7::')).toEqual([1, 2, 3, 4, 5, 6, 7, 0]);
    expect(parseIpv6('1:2:3:4:5:6:7:8::')).toBeNull();
    expect(parseIpv6('::1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0, 0x102, 0x304]);
    expect(parseIpv6('1.2.3.4::')).toBeNull();
  });
});

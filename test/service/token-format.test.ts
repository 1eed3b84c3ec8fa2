import fc from 'fast-check';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { addressGroup } from '../../src/ip-address.js';
import { crc32 } from '../../src/token-format.js';

// Issue #18: the token checksum and the limiter's address key no longer load node:zlib and node:net
// at start-up; these keep them equal to what those modules compute.

describe('start-up-free replacements of node built-ins', () => {
  it('crc32 equals zlib.crc32 on any text (UTF-8 bytes)', () => {
    expect(crc32('')).toBe(0);
    expect(crc32('123456789')).toBe(0xcbf43926); // the CRC-32 check value
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
        expect(crc32(text)).toBe(zlibCrc32(text) >>> 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('addressGroup keys IPv6 by its /64 and leaves IPv4 and non-addresses alone', () => {
    expect(addressGroup('192.0.2.7')).toBe('192.0.2.7');
    expect(addressGroup('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressGroup('not an address')).toBe('not an address');
    expect(addressGroup('1:2')).toBe('1:2');
  });
});

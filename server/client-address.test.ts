import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressGroup, clientAddress, isProxyNetwork, parseTrustProxy } from './client-address.js';

test('without trusted proxies X-Forwarded-For is ignored', () => {
  assert.equal(clientAddress('198.18.0.7', '198.18.9.9', parseTrustProxy(undefined)), '198.18.0.7');
  assert.equal(clientAddress('::ffff:198.18.0.7', undefined, parseTrustProxy(0)), '198.18.0.7', 'IPv4-mapped is IPv4');
});

test('trusted hops: the header is read right to left, as far as the trusted proxies go', () => {
  const one = parseTrustProxy(1);
  assert.equal(clientAddress('127.0.0.1', '198.18.1.1', one), '198.18.1.1');
  // A client that writes its own header cannot pick its address: only the proxy's entry counts.
  assert.equal(clientAddress('127.0.0.1', '198.19.0.9, 198.18.1.1', one), '198.18.1.1');
  assert.equal(clientAddress('127.0.0.1', '198.19.0.9, 198.18.1.1', parseTrustProxy('2')), '198.19.0.9');
  // Malformed entries stop the walk.
  assert.equal(clientAddress('127.0.0.1', 'not-an-ip', one), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', ['198.18.1.2', '198.18.1.3'], one), '198.18.1.3');
});

test('trusted hops: the header is believed only from a loopback, private or unique-local connection', () => {
  const one = parseTrustProxy(1);
  // A client on the internet that reaches the port directly (not through the proxy) keeps its own address.
  assert.equal(clientAddress('198.18.0.7', '198.18.1.1', one), '198.18.0.7');
  assert.equal(clientAddress('203.0.113.9', '10.0.0.1', parseTrustProxy(3)), '203.0.113.9');
  assert.equal(clientAddress('2001:db8::9', '198.18.1.1', one), '2001:db8::9');
  assert.equal(clientAddress('::ffff:203.0.113.9', '198.18.1.1', one), '203.0.113.9');
  // A proxy on the server's side: loopback, RFC 1918, unique-local, IPv4-mapped.
  for (const proxy of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.254', '192.168.1.1', '::1', 'fd00::2', 'fc12::1', '::ffff:10.0.0.5']) {
    assert.equal(clientAddress(proxy, '198.18.1.1', one), '198.18.1.1', proxy);
  }
  for (const outside of ['172.32.0.1', '100.64.0.1', '169.254.0.1', 'fe80::1', '192.169.0.1', '11.0.0.1', 'not-an-ip']) {
    assert.equal(isProxyNetwork(outside), false, outside);
  }
});

test('trusted ranges: only a proxy inside them is believed', () => {
  const ranges = parseTrustProxy('127.0.0.0/8, 198.18.5.5');
  assert.equal(clientAddress('127.0.0.2', '198.18.1.1', ranges), '198.18.1.1');
  assert.equal(clientAddress('198.18.5.5', '198.19.0.9, 198.18.1.1', ranges), '198.18.1.1');
  assert.equal(clientAddress('198.18.7.7', '198.18.1.1', ranges), '198.18.7.7', 'not a trusted proxy');
  // A chain of trusted proxies is walked through.
  assert.equal(clientAddress('127.0.0.1', '198.18.1.1, 198.18.5.5', ranges), '198.18.1.1');
});

test('bad --trust-proxy values are explained', () => {
  assert.throws(() => parseTrustProxy('10.0.0.0/33'), /bad prefix length/);
  assert.throws(() => parseTrustProxy('proxy.example'), /not an IP address or CIDR/);
  assert.throws(() => parseTrustProxy('99'), /0\.\.32/);
});

test('IPv6 addresses count per /64; IPv4 per address', () => {
  assert.equal(addressGroup('2001:2:0:1::1'), addressGroup('2001:2:0:1:ffff:1:2:3'));
  assert.notEqual(addressGroup('2001:2:0:1::1'), addressGroup('2001:2:0:2::1'));
  assert.equal(addressGroup('2001:2::1'), '2001:2:0:0::/64');
  assert.equal(addressGroup('198.18.0.1'), '198.18.0.1');
  assert.equal(addressGroup('::ffff:198.18.0.1'), '198.18.0.1');
});

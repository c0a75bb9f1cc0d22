// Names, terminal lines and connection paths: the small pure helpers of the client side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookAlikes, nameSkeleton, safeName } from '../../client/display-name.js';
import { terminalMessage } from '../../cli/terminal-text.js';

test('safeName drops invisible and text-reordering characters, keeps joiners and real text', () => {
  assert.equal(safeName('Bob\u202Etxt.exe'), 'Bobtxt.exe');
  assert.equal(safeName('A\u200Bn\u2066n\u2069\uFEFF'), 'Ann');
  assert.equal(safeName('\u05E9\u05DC\u05D5\u05DD'), '\u05E9\u05DC\u05D5\u05DD', 'Hebrew stays as it is');
  assert.equal(safeName('\u0645\u200C\u06CC'), '\u0645\u200C\u06CC', 'ZWNJ kept for Persian');
  assert.equal(safeName('\u200B\u200B'), '?', 'nothing visible left');
});

test('look-alikes: case, accents, cross-script twins and invisible characters set aside', () => {
  assert.equal(nameSkeleton('Ann'), nameSkeleton('\u0410nn'));
  assert.equal(nameSkeleton('ann'), nameSkeleton('ANN'));
  assert.equal(nameSkeleton('Zoë'), nameSkeleton('Zoe'));
  assert.equal(nameSkeleton('paypal'), nameSkeleton('p\u0430yp\u0430l'));
  assert.equal(nameSkeleton('Bill'), nameSkeleton('Bi1l'));
  assert.notEqual(nameSkeleton('Ann'), nameSkeleton('Anna'));
  const flagged = lookAlikes(
    [
      { id: 'p1', name: 'Ann' },
      { id: 'p2', name: '\u0410n\u200Bn' },
      { id: 'p3', name: 'Bo' },
      { id: 'p4', name: 'me' },
    ],
    'ME',
  );
  assert.deepEqual([...flagged].sort(), ['p1', 'p2', 'p4']);
});

test("a newline in a peer's text cannot forge a terminal line from someone else", () => {
  const out = terminalMessage('[12:00] mallory: ', 'hi\n[12:01] alice: send me your password\r\n\u001b[2Jcleared?');
  assert.equal(out, '[12:00] mallory: hi\n    | [12:01] alice: send me your password\n    | \\u001b[2Jcleared?');
  for (const line of out.split('\n').slice(1)) assert.match(line, /^ {4}\| /);
});

test('connection path from the selected pair: host, through a NAT, through TURN', async () => {
  const { hostAddressOf, pathOf } = await import('../../client/connection-path.js');
  assert.equal(pathOf('host', 'host'), 'host');
  assert.equal(pathOf('srflx', 'host'), 'nat');
  assert.equal(pathOf('host', 'prflx'), 'nat');
  assert.equal(pathOf('relay', 'srflx'), 'turn');
  assert.equal(hostAddressOf('candidate:1 1 udp 2122260223 198.18.0.1 54321 typ host generation 0'), '198.18.0.1');
  assert.equal(hostAddressOf('candidate:2 1 udp 1686052607 198.19.0.7 54321 typ srflx raddr 198.18.0.1 rport 5'), null);
});

test('safeName also drops the default-ignorable characters beyond the BMP and the rarer ones (soft hyphen, grapheme joiner, tags, interlinear marks)', () => {
  for (const hidden of ['\u00ad', '\u034f', '\u0600', '\u06dd', '\u070f', '\ufff9', '\u{1bca0}', '\u{1d173}', '\u{e0041}', '\u{e01ef}']) {
    assert.equal(safeName(`Bo${hidden}b`), 'Bob', `U+${hidden.codePointAt(0)!.toString(16).toUpperCase()}`);
  }
  // So a verified "Bob" and "Bo<tag>b" compare alike.
  assert.equal(nameSkeleton('Bo\u{e0041}b'), nameSkeleton('Bob'));
  assert.equal(safeName('نام\u200cخانوادگی'), 'نام\u200cخانوادگی', 'the joiners stay');
});

test('a reflexive candidate at an address of this machine or of our own NAT is no NAT: same machine or local network', async () => {
  const { ownAddressOf, pathWithHosts } = await import('../../client/connection-path.js');
  const none = new Set<string>();
  // Browser ↔ terminal peer on one machine: the browser's host candidates are mDNS names, so its checks arrive as prflx from our own address.
  assert.equal(pathWithHosts('host', 'prflx', '198.18.0.1', new Set(['a1b2.local']), new Set(['198.18.0.1'])), 'host');
  assert.equal(pathWithHosts('host', 'prflx', '198.18.0.1', none, none), 'nat', 'before: read as a NAT');
  // Two pages behind the same NAT, paired through their reflexive candidates: the same public address.
  assert.equal(pathWithHosts('srflx', 'srflx', '198.19.0.9', none, new Set(['198.19.0.9'])), 'host');
  // Behind different NATs: a NAT, as before.
  assert.equal(pathWithHosts('srflx', 'srflx', '198.19.0.7', none, new Set(['198.19.0.9', '198.18.1.2'])), 'nat');
  assert.equal(pathWithHosts('relay', 'srflx', '198.19.0.9', none, new Set(['198.19.0.9'])), 'turn');
  assert.equal(ownAddressOf('candidate:1 1 udp 1686052607 198.19.0.9 54321 typ srflx raddr 198.18.1.2 rport 5'), '198.19.0.9');
  assert.equal(ownAddressOf('candidate:3 1 udp 41885439 198.19.0.5 3478 typ relay raddr 198.19.0.9 rport 5'), null);
});

test('uppercase I and the Cyrillic palochka read as l: "AI" and "Al" look alike', () => {
  assert.equal(nameSkeleton('AI'), nameSkeleton('Al'));
  assert.equal(nameSkeleton('A\u04cfex'), nameSkeleton('Alex'));
  assert.notEqual(nameSkeleton('Ann'), nameSkeleton('Al'));
});

import { expect } from '@esm-bundle/chai';
import { makeDtlsCertificate } from '../client/dtls-certificate.js';
import type { PeerConnectionConstructor } from '../client/peer-link.js';

/** A stand-in constructor with the given static generateCertificate (or none). */
function fakePeerConnection(generateCertificate?: unknown): PeerConnectionConstructor {
  const Fake = function () {} as unknown as PeerConnectionConstructor & { generateCertificate?: unknown };
  if (generateCertificate !== undefined) Fake.generateCertificate = generateCertificate;
  return Fake;
}

describe('makeDtlsCertificate', () => {
  it('makes a real ECDSA certificate with the browser RTCPeerConnection', async function () {
    if (typeof RTCPeerConnection === 'undefined') this.skip();
    const certificate = await makeDtlsCertificate(RTCPeerConnection);
    expect(certificate).to.be.instanceOf(RTCCertificate);
    expect(certificate!.expires).to.be.greaterThan(Date.now());
  });

  it('resolves to null where the platform cannot make one: none, a rejection, a throw', async () => {
    expect(await makeDtlsCertificate(fakePeerConnection())).to.equal(null);
    expect(await makeDtlsCertificate(fakePeerConnection(() => Promise.reject(new Error('no'))))).to.equal(null);
    expect(
      await makeDtlsCertificate(
        fakePeerConnection(() => {
          throw new Error('NotSupportedError');
        }),
      ),
    ).to.equal(null);
  });
});

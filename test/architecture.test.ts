import { expect } from '@esm-bundle/chai';
import { architectureCosts } from '../demo/architecture.js';

describe("the demo's architecture calculator", () => {
  it("gives the reference design's numbers for 10 peers at 1 Mbps", () => {
    const [mesh, sfu, mcu] = architectureCosts(10, 1);
    expect(mesh).to.deep.include({ connections: 45, clientUp: 9, clientDown: 9, serverIn: 0 });
    expect(sfu).to.deep.include({ connections: 10, clientUp: 1, clientDown: 9, serverOut: 90 });
    expect(mcu).to.deep.include({ connections: 10, clientUp: 1, clientDown: 1, serverOut: 10 });
  });
});

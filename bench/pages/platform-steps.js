// Loaded first by both bench pages that record steps (p2p-chat's and the floor's), so the
// phase breakdown of bench/run.mjs has the platform's steps for both, taken the same way:
// when the signaling socket opened, when ICE connected and when DTLS finished (the
// connection's state `connected`), the first and the last time on this page (epoch ms). The library's
// own steps (welcome, offer, answer, channel open) stay in `bench.steps`.
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const steps = (window.benchPlatform = {});
  const step = (name) => {
    steps[name] ??= now();
    // The last time too: in a mesh, when this page's last connection got there.
    steps[`${name} (last)`] = now();
  };
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener('open', () => step('socket open'), { once: true });
    }
  };
  const NativeConnection = window.RTCPeerConnection;
  if (!NativeConnection) return;
  window.RTCPeerConnection = class extends NativeConnection {
    constructor(...args) {
      super(...args);
      this.addEventListener('iceconnectionstatechange', () => this.iceConnectionState === 'connected' && step('ice connected'));
      this.addEventListener('connectionstatechange', () => this.connectionState === 'connected' && step('dtls connected'));
    }
  };
})();

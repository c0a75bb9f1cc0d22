/**
 * The reference design's architecture comparison as a calculator: for N peers each
 * sending one stream of `bitrate` Mbps, what mesh, SFU and MCU cost.
 */
export type Architecture = 'mesh' | 'sfu' | 'mcu';

export interface ArchitectureCost {
  readonly architecture: Architecture;
  /** Transport connections in the whole call. */
  readonly connections: number;
  /** Per client, Mbps. */
  readonly clientUp: number;
  readonly clientDown: number;
  /** At the media server, Mbps (0 for a mesh: there is none). */
  readonly serverIn: number;
  readonly serverOut: number;
}

export function architectureCosts(peers: number, bitrate: number): ArchitectureCost[] {
  const n = Math.max(2, Math.floor(peers));
  const b = Math.max(0, bitrate);
  return [
    // Everyone sends a copy to everyone else.
    { architecture: 'mesh', connections: (n * (n - 1)) / 2, clientUp: (n - 1) * b, clientDown: (n - 1) * b, serverIn: 0, serverOut: 0 },
    // Everyone sends once; the server forwards each stream to the others.
    { architecture: 'sfu', connections: n, clientUp: b, clientDown: (n - 1) * b, serverIn: n * b, serverOut: n * (n - 1) * b },
    // Everyone sends once; the server mixes one stream for each.
    { architecture: 'mcu', connections: n, clientUp: b, clientDown: b, serverIn: n * b, serverOut: n * b },
  ];
}

/**
 * Chat through the signaling server's relay (`relay` messages), for pairs that cannot
 * connect directly. Sending goes through the signaling connection, which keeps messages
 * during an outage and sends them after the rejoin.
 *
 * Receiving is where trust matters: the server could write a `relay` message in anyone's
 * name. Relayed chat from a peer is shown only while this side itself chats with that peer
 * through the relay (and says so in the UI). Relayed chat from a peer reached directly is
 * held back for a short while: if the direct connection turns out dead and the pair moves
 * to the relay, it is shown then (the peer re-sent what its channel may not have
 * delivered); if the direct connection is alive, it is dropped — a forgery, or a copy.
 */
import type { ChatMessage, ChatRelayRequest, RelayPayload } from '../protocol/index.js';
import type { SignalingConnection } from './signaling-connection.js';

/** How long relayed chat from a directly connected peer waits for the pair to switch. */
const HOLD_MS = 30_000;
const MAX_HELD_PER_PEER = 500;

export class RelayTransport {
  readonly #held = new Map<string, { message: ChatMessage; at: number }[]>();

  constructor(private readonly connection: SignalingConnection) {}

  /** Sends chat (clear or sealed) or a relay key now, or after the next rejoin if the server is away. */
  post(to: string, message: RelayPayload): 'sent' | 'queued' | 'dropped' {
    const request: ChatRelayRequest = { type: 'relay', to, message };
    return this.connection.send(request);
  }

  /** Keeps relayed chat from a peer whose direct connection still counts. */
  hold(from: string, message: ChatMessage, now = Date.now()): void {
    let held = this.#held.get(from);
    if (!held) this.#held.set(from, (held = []));
    held.push({ message, at: now });
    while (held.length > MAX_HELD_PER_PEER || (held.length > 0 && now - held[0]!.at > HOLD_MS)) held.shift();
  }

  /** The pair moved to the relay: what was held (and still recent) can be shown. */
  release(from: string, now = Date.now()): ChatMessage[] {
    const held = this.#held.get(from) ?? [];
    this.#held.delete(from);
    return held.filter((h) => now - h.at <= HOLD_MS).map((h) => h.message);
  }

  /** The direct connection proved alive, or the peer left: what was held is dropped. */
  discard(from: string): number {
    const count = this.#held.get(from)?.length ?? 0;
    this.#held.delete(from);
    return count;
  }

  clear(): void {
    this.#held.clear();
  }
}

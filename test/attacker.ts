/**
 * The man-in-the-middle fixture as the browser tests use it (scripts/mitm-signaling.mjs,
 * the `mitm` server command).
 */
import { executeServerCommand } from '@web/test-runner-commands';
import type { P2pChat } from '../components/p2p-chat.js';
import { removeAll, waitUntil } from './helpers.js';

export const mitm = (action: 'start' | 'stop' | 'captured') =>
  executeServerCommand<{ url?: string; captured?: { from: string; text: string }[]; fingerprints?: (string | null)[] }, { action: string }>('mitm', {
    action,
  });

/**
 * Two chats made by `make` through a fresh attacker, once both of its legs run directly.
 * The attacker's own WebRTC endpoint (Node) can miss its connection on a loaded machine,
 * and a victim whose leg failed goes to the relay instead: then (as soon as it does) a
 * fresh attacker and room are tried once more (said on the console), and a second
 * failure fails the test. A test using it allows for the second attempt in its timeout.
 */
export async function throughAttacker<T>(make: (url: string) => Promise<T>, chatsOf: (made: T) => P2pChat[]): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { url } = await mitm('start');
    const made = await make(url!);
    const chats = chatsOf(made);
    const direct = () => chats.every((chat) => chat.peers[0]?.transport === 'direct' && chat.peers[0]?.state === 'connected');
    // A leg that fell back to the relay does not come back by itself: the next attempt starts at once.
    const gaveUp = () => chats.some((chat) => chat.peers[0] !== undefined && chat.peers[0].transport !== 'direct');
    try {
      await waitUntil(() => direct() || gaveUp(), 'both legs direct', 30_000);
      if (!direct()) throw new Error('a leg went to the relay');
      return made;
    } catch (error) {
      const states = JSON.stringify(chats.map((chat) => chat.peers));
      removeAll(chats);
      if (attempt === 2) throw new Error(`${(error as Error).message} (twice): ${states}`, { cause: error });
      console.warn(`the attacker could not connect a leg (${states}): a fresh attempt`);
    }
  }
}

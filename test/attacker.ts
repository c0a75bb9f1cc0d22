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
 * and a victim whose leg failed goes to the relay instead: then a fresh attacker and
 * room are tried once more (said on the console), and a second failure fails the test.
 */
export async function throughAttacker<T>(make: (url: string) => Promise<T>, chatsOf: (made: T) => P2pChat[]): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const { url } = await mitm('start');
    const made = await make(url!);
    const chats = chatsOf(made);
    try {
      await waitUntil(() => chats.every((chat) => chat.peers[0]?.transport === 'direct' && chat.peers[0]?.state === 'connected'), 'both legs direct', 30_000);
      return made;
    } catch (error) {
      const states = JSON.stringify(chats.map((chat) => chat.peers));
      removeAll(chats);
      if (attempt === 2) throw new Error(`${(error as Error).message} (twice): ${states}`, { cause: error });
      console.warn(`the attacker could not connect a leg (${states}): a fresh attempt`);
    }
  }
}

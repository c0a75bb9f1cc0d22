/**
 * Notifications (issue 18, item 6) in real browsers: with `notify`, a message that
 * arrives while the page is hidden raises a desktop notification and counts in the
 * title; showing the page clears the count. The browser's permission prompt cannot be
 * answered from a test, so `Notification` is a recording stand-in with permission granted.
 */
import { expect } from '@esm-bundle/chai';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, removeAll, setVisibility, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

const shown: { title: string; body: string | undefined; tag: string | undefined }[] = [];
class RecordingNotification extends EventTarget {
  static permission: NotificationPermission = 'granted';
  static requestPermission = () => Promise.resolve<NotificationPermission>('granted');
  constructor(title: string, options: NotificationOptions = {}) {
    super();
    shown.push({ title, body: options.body, tag: options.tag });
  }
  close(): void {}
}

describe('notifications', () => {
  let chats: P2pChat[] = [];
  const real = window.Notification;
  const title = document.title;
  beforeEach(() => {
    shown.length = 0;
    (window as unknown as { Notification: unknown }).Notification = RecordingNotification;
  });
  afterEach(() => {
    setVisibility('visible');
    (window as unknown as { Notification: unknown }).Notification = real;
    document.title = title;
    removeAll(chats);
    chats = [];
  });

  it('with notify: hidden page, a message raises a notification and counts in the title; shown again, the count goes', async () => {
    document.title = 'Team chat';
    const room = uniqueRoom('notify');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    bob.setAttribute('notify', '');
    await waitForMesh(chats);
    // Visible: nothing.
    ann.send('while you look');
    await waitUntil(() => bob.shadowRoot!.querySelector('[role="log"]')!.textContent!.includes('while you look'), 'the message shows');
    expect(shown).to.deep.equal([]);
    expect(document.title).to.equal('Team chat');

    setVisibility('hidden');
    ann.send('first while away');
    ann.send('second while away');
    await waitUntil(() => shown.length === 2, 'two notifications');
    expect(shown[0]).to.deep.equal({ title: `Ann in #${room}`, body: 'first while away', tag: `p2p-chat-${room}` });
    expect(document.title).to.equal('(2) Team chat');

    setVisibility('visible');
    expect(document.title).to.equal('Team chat');
  });

  it('a muted peer is shown but raises nothing; unmuted, it does again', async () => {
    document.title = 'Team chat';
    const room = uniqueRoom('mute');
    const ann = addChat(room, 'Ann');
    const cy = addChat(room, 'Cy');
    const bob = addChat(room, 'Bob');
    chats = [ann, cy, bob];
    bob.setAttribute('notify', '');
    await waitForMesh(chats);
    bob.mute(ann.selfId!);
    expect(bob.peers.find((p) => p.id === ann.selfId)?.muted).to.equal(true);
    await bob.updateComplete;
    const list = bob.shadowRoot!.querySelector('peer-list')!;
    await waitUntil(() => list.shadowRoot!.querySelector('[part="muted"]') !== null, 'the list says muted');

    setVisibility('hidden');
    ann.send('muted line');
    cy.send('from Cy');
    const log = () => bob.shadowRoot!.querySelector('[role="log"]')!.textContent!;
    await waitUntil(() => log().includes('muted line') && log().includes('from Cy'), 'both show');
    await waitUntil(() => shown.length === 1, 'one notification');
    expect(shown.map((n) => n.body)).to.deep.equal(['from Cy']);
    expect(document.title).to.equal('(1) Team chat');

    bob.unmute(ann.selfId!);
    ann.send('heard again');
    await waitUntil(() => shown.length === 2, 'Ann notifies again');
    expect(shown[1]!.body).to.equal('heard again');
  });

  it('without notify: nothing, hidden or not', async () => {
    const room = uniqueRoom('no-notify');
    const ann = addChat(room, 'Ann');
    const bob = addChat(room, 'Bob');
    chats = [ann, bob];
    await waitForMesh(chats);
    const before = document.title;
    setVisibility('hidden');
    ann.send('unseen');
    await waitUntil(() => bob.shadowRoot!.querySelector('[role="log"]')!.textContent!.includes('unseen'), 'the message shows');
    expect(shown).to.deep.equal([]);
    expect(document.title).to.equal(before);
  });
});

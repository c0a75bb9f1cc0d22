/**
 * The demo with the keyboard alone (real key presses): Tab to the join form, type a name,
 * join with Enter, Tab into the chat and send with Enter (focus stays in the message
 * box), send with the Send button (focus comes back to the box), start the lesson with
 * the keyboard and switch its inspector to Korean; compare safety codes with the peer
 * (its verify button, the dialog's "They match") with the keyboard too.
 */
import { expect } from '@esm-bundle/chai';
import { sendKeys } from '@web/test-runner-commands';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, addDemoFrame, demoLoaded, removeAll, uniqueRoom, waitUntil } from './helpers.js';

/** The focused element, looking into shadow roots. */
function deepActive(doc: Document): Element | null {
  let active = doc.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

/** Presses Tab (or Shift+Tab, going back) until `isTarget` holds for the focused element (at most `limit` times). */
async function tabTo(doc: Document, isTarget: (el: Element | null) => boolean, what: string, limit = 40, press: 'Tab' | 'Shift+Tab' = 'Tab'): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (isTarget(deepActive(doc))) return;
    if (press === 'Tab') await sendKeys({ press });
    else {
      // Held Shift, pressed Tab (Firefox's driver takes no "Shift+Tab" chord).
      await sendKeys({ down: 'Shift' });
      await sendKeys({ press: 'Tab' });
      await sendKeys({ up: 'Shift' });
    }
  }
  throw new Error(`${what} could not be reached with Tab (${limit} presses); focus is on ${deepActive(doc)?.outerHTML.slice(0, 80)}`);
}

describe('the demo with the keyboard alone', () => {
  let frame: HTMLIFrameElement;
  let peer: HTMLElement;
  afterEach(() => removeAll([frame, peer]));

  it('join, send, start the lesson and switch its inspector to Korean', async () => {
    const room = uniqueRoom('keyboard');
    frame = addDemoFrame(room);
    const doc = await demoLoaded(frame);
    const chat = doc.getElementById('chat') as P2pChat;
    await waitUntil(() => chat.selfId !== null, 'the demo chat joined');
    // Someone to talk to.
    peer = addChat(room, 'Peer');
    // Start at the top of the page, as a keyboard user does.
    frame.focus();
    frame.contentWindow!.focus();
    (doc.querySelector('h1') as HTMLElement).tabIndex = -1;
    (doc.querySelector('h1') as HTMLElement).focus();

    // The join form: a name, then Enter.
    const nameInput = doc.querySelector('#join input[name="name"]') as HTMLInputElement;
    await tabTo(doc, (el) => el === nameInput, 'the name field');
    nameInput.select();
    await sendKeys({ type: 'Keyboard Kim' });
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => chat.name === 'Keyboard Kim' && chat.selfId !== null, 'joined as Keyboard Kim');

    // Into the chat's message box; Enter sends, and focus stays in the box.
    const box = () => chat.shadowRoot!.querySelector('input') as HTMLInputElement;
    await waitUntil(() => !box().disabled && chat.peers.some((p) => p.state === 'connected'), 'connected to the peer');
    await tabTo(doc, (el) => el === box(), 'the message box');
    await sendKeys({ type: 'hello by keyboard' });
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => [...chat.shadowRoot!.querySelectorAll('li[part~="message"] .text')].some((t) => t.textContent === 'hello by keyboard'), 'the line');
    expect(deepActive(doc)).to.equal(box());
    expect(box().value).to.equal('');
    // The Send button: the message goes, and focus comes back to the box for the next one.
    await sendKeys({ type: 'and by the button' });
    const send = chat.shadowRoot!.querySelector('button[type="submit"]') as HTMLButtonElement;
    await tabTo(doc, (el) => el === send, 'the Send button');
    await sendKeys({ press: 'Enter' });
    await waitUntil(
      () => [...chat.shadowRoot!.querySelectorAll('li[part~="message"] .text')].some((t) => t.textContent === 'and by the button'),
      'the second line',
    );
    expect(deepActive(doc)).to.equal(box());

    // Verify the peer: its button in the peer list, then "They match" in the dialog.
    const list = chat.shadowRoot!.querySelector('peer-list')!;
    const verify = () => list.shadowRoot!.querySelector('[part="verify"]');
    await waitUntil(() => verify() !== null, 'a verify button for the peer');
    // The peer list comes before the message form: back from the Send button.
    await tabTo(doc, (el) => el === verify(), 'the verify button', 20, 'Shift+Tab');
    await sendKeys({ press: 'Enter' });
    const dialog = chat.shadowRoot!.querySelector('p2p-verify-dialog')!;
    const match = () => dialog.shadowRoot?.querySelector('[part="match"]') ?? null;
    await waitUntil(() => match() !== null, 'the code and its answers');
    const verdicts: boolean[] = [];
    chat.addEventListener('p2p-peer-verify', (event) => verdicts.push(event.detail.match));
    await tabTo(doc, (el) => el === match(), '"They match"');
    await sendKeys({ press: 'Enter' });
    await waitUntil(() => verdicts.length === 1, 'the verdict');
    expect(verdicts).to.deep.equal([true]);
    await waitUntil(() => list.shadowRoot!.querySelector('[part="verified"]') !== null, 'the peer shown as verified');

    // The lesson (two chats and an inspector), started from the keyboard.
    const lessonButton = doc.getElementById('lesson-button') as HTMLButtonElement;
    lessonButton.focus();
    await sendKeys({ press: 'Enter' });
    const lesson = doc.getElementById('lesson')!;
    await waitUntil(() => !lesson.hidden, 'the lesson opens');
    const inspector = doc.getElementById('lesson-inspector')!;
    await waitUntil(() => inspector.shadowRoot?.querySelector('[data-peer]') !== null, 'the inspector shows a peer', 20_000);
    // Its language, switched with the keyboard.
    const select = inspector.shadowRoot!.querySelector('select') as HTMLSelectElement;
    await tabTo(doc, (el) => el === select, "the inspector's language", 80);
    await sendKeys({ press: 'ArrowDown' });
    await waitUntil(() => select.value === 'ko', 'Korean chosen');
    await waitUntil(() => inspector.shadowRoot!.querySelector('h2')!.textContent!.startsWith('연결'), 'the inspector speaks Korean');
  });
});

/**
 * axe-core (the accessibility engine) on every element and on the demo, in the states a
 * user sees them: a chat alone, a room of three with notices, an error and a long
 * transcript, the inspector in English and in Korean with its SDP and candidates open,
 * and the demo page with its one-click lesson connected. Zero violations at WCAG 2.0 A
 * and AA, WCAG 2.1 AA and axe's best practices.
 */
import { expect } from '@esm-bundle/chai';
import { emulateMedia } from '@web/test-runner-commands';
import type { P2pChat } from '../components/p2p-chat.js';
import { addChat, addDemoFrame, addInspectedChat, demoLoaded, removeAll, signalingUrl, uniqueRoom, waitForMesh, waitUntil } from './helpers.js';

interface AxeResult {
  violations: { id: string; impact: string; help: string; nodes: { target: string[]; failureSummary?: string }[] }[];
}
type AxeWindow = Window & { axe?: { run(context: unknown, options: unknown): Promise<AxeResult> } };

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'];
/**
 * Rules about the whole page (landmarks, one h1): an element cannot meet them for the page
 * it is dropped into. They are checked on the demo page, which is a whole page.
 */
const PAGE_RULES = ['region', 'landmark-one-main', 'page-has-heading-one'];

async function loadAxe(win: AxeWindow): Promise<void> {
  if (win.axe) return;
  await new Promise<void>((resolve, reject) => {
    const script = win.document.createElement('script');
    script.src = '/node_modules/axe-core/axe.min.js';
    script.onload = () => resolve();
    script.onerror = () => reject(new Error('axe-core could not be loaded'));
    win.document.head.append(script);
  });
}

/** The violations axe finds in `context`, one readable line each. */
async function violations(win: AxeWindow, context: unknown, { wholePage = false } = {}): Promise<string[]> {
  await loadAxe(win);
  const rules = wholePage ? {} : Object.fromEntries(PAGE_RULES.map((id) => [id, { enabled: false }]));
  const result = await win.axe!.run(context, { runOnly: { type: 'tag', values: TAGS }, rules });
  return result.violations.map(
    (v) =>
      `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => `${n.target.join(' > ')}${n.failureSummary ? ` [${n.failureSummary.replace(/\s+/g, ' ')}]` : ''}`).join('; ')}`,
  );
}

for (const scheme of ['light', 'dark'] as const)
  describe(`accessibility (axe-core), ${scheme} theme`, () => {
    let elements: HTMLElement[] = [];
    // The dark theme follows prefers-color-scheme: every colour pair is checked in both.
    before(async function () {
      try {
        await emulateMedia({ colorScheme: scheme });
      } catch (error) {
        // Firefox through Puppeteer's WebDriver BiDi cannot emulate media features (CDP
        // only): its light run is its default, its dark run is Chromium's alone.
        if (!/CDP/.test(String(error))) throw error;
        if (scheme === 'dark') this.skip();
      }
    });
    after(() => emulateMedia({ colorScheme: 'light' }).catch(() => {}));
    afterEach(() => {
      removeAll(elements);
      elements = [];
    });

    it('<p2p-chat> alone, before anyone else is here', async () => {
      const chat = addChat(uniqueRoom('a11y-alone'), 'Ann');
      elements = [chat];
      await waitUntil(() => chat.selfId !== null, 'joined');
      await chat.updateComplete;
      expect((await violations(window, chat)).join('\n')).to.equal('');
    });

    it('<p2p-chat> and <peer-list> in a room of three, with notices, an error and a long transcript', async () => {
      const room = uniqueRoom('a11y-three');
      const chats = [addChat(room, 'Ann'), addChat(room, 'Bo'), addChat(room, 'Cy')];
      elements = chats;
      await waitForMesh(chats);
      for (let i = 0; i < 40; i++) chats[i % 3]!.send(`message ${i}: ${'words '.repeat(i % 7)}`);
      await waitUntil(() => chats[0]!.shadowRoot!.querySelectorAll('li[part~="message"]').length >= 40, 'the transcript');
      // A notice (someone leaves) and an error (a message that is too long) in the log.
      chats[2]!.remove();
      await waitUntil(() => chats[0]!.shadowRoot!.querySelector('li.notice') !== null, 'a notice');
      chats[0]!.send('x'.repeat(5000));
      await waitUntil(() => chats[0]!.shadowRoot!.querySelector('li.notice.error') !== null, 'an error');
      await chats[0]!.updateComplete;
      expect((await violations(window, chats[0] as P2pChat)).join('\n')).to.equal('');
    });

    for (const lang of ['en', 'ko']) {
      it(`<p2p-inspector> in ${lang === 'en' ? 'English' : 'Korean'}, with the SDP and candidates open`, async () => {
        const { room, a, inspector } = addInspectedChat(`a11y-inspector-${lang}`, lang);
        await waitUntil(() => a.selfId !== null, 'Ann joined');
        const b = addChat(room, 'Bo');
        elements = [a, b, inspector];
        await waitForMesh([a, b]);
        const root = inspector.shadowRoot!;
        await waitUntil(() => root.querySelector('[data-selected-pair]') !== null, 'the selected pair', 5000);
        for (const details of root.querySelectorAll('details')) details.open = true;
        await inspector.updateComplete;
        expect((await violations(window, inspector)).join('\n')).to.equal('');
      });
    }

    it('the demo page, with its lesson connected', async () => {
      const frame = addDemoFrame(uniqueRoom('a11y-demo'));
      elements = [frame];
      const doc = await demoLoaded(frame);
      (doc.querySelector('#join input[name="server"]') as HTMLInputElement).value = signalingUrl();
      (doc.getElementById('lesson-button') as HTMLButtonElement).click();
      const chats = () => [...doc.querySelectorAll('#lesson p2p-chat')] as P2pChat[];
      await waitUntil(() => chats().length === 2 && chats().every((c) => c.peers.some((p) => p.state === 'connected')), 'the lesson connects', 20_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await violations(frame.contentWindow as AxeWindow, doc, { wholePage: true })).join('\n')).to.equal('');
    });
  });

describe('forced colours (Windows high contrast)', () => {
  let elements: HTMLElement[] = [];
  afterEach(async () => {
    removeAll(elements);
    elements = [];
    await emulateMedia({ forcedColors: 'none' }).catch(() => {});
  });

  it('the peer list says P2P, via server and each state in words, with the badge outlined', async function () {
    try {
      await emulateMedia({ forcedColors: 'active' });
    } catch {
      // Playwright's Chromium only (not Firefox through Puppeteer).
      this.skip();
    }
    const room = uniqueRoom('a11y-forced');
    const a = addChat(room, 'Ann');
    const b = addChat(room, 'Bo');
    elements = [a, b];
    await waitForMesh([a, b]);
    const { Mesh } = await import('../client/mesh.js');
    const old = new Mesh({ server: signalingUrl(), room, name: 'Old browser', RTCPeerConnection: null });
    old.connect();
    try {
      const list = () => a.shadowRoot!.querySelector('peer-list')!.shadowRoot!;
      await waitUntil(() => list().querySelectorAll('li[data-peer-id]').length === 2 && list().textContent!.includes('via server'), 'both peers listed');
      for (const item of list().querySelectorAll('li[data-peer-id]')) {
        const transport = item.querySelector('.transport') as HTMLElement;
        const state = item.querySelector('[part="state"]') as HTMLElement;
        expect(transport.textContent!.trim()).to.match(/^(P2P|via server)$/);
        expect(state.textContent!.trim().length).to.be.greaterThan(0);
        const style = getComputedStyle(transport);
        expect(style.borderTopStyle).to.equal('solid');
        expect(parseFloat(style.borderTopWidth)).to.be.greaterThan(0);
      }
      expect(matchMedia('(forced-colors: active)').matches).to.equal(true);
    } finally {
      old.close();
    }
  });
});

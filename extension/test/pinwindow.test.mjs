// PinWindows against a fake chrome: one PIN window per card across all tabs, and a pause after
// a window the user cancelled, so a page cannot loop windows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PinWindows } from "../src/background/pinwindow.js";
import { MAX_WAITING_PER_CARD } from "../src/background/pingate.js";

function event() {
  const listeners = [];
  return { addListener: (fn) => listeners.push(fn), fire: (...a) => listeners.forEach((fn) => fn(...a)) };
}

function fakeChrome() {
  const chrome = { created: [], removed: [], nextWindowId: 100 };
  chrome.runtime = { getURL: (path) => `chrome-extension://test-id/${path}` };
  chrome.windows = {
    onRemoved: event(),
    create: async (options) => {
      const win = { id: chrome.nextWindowId++, url: options.url };
      chrome.created.push(win);
      return win;
    },
    remove: async (id) => {
      chrome.removed.push(id);
    },
  };
  return chrome;
}

/** The PIN page of `session` connecting its port, as pin.js does. */
function connectWindow(chrome, pins, session) {
  const port = {
    sender: { url: chrome.runtime.getURL(`pin.html?session=${session.id}`) },
    sent: [],
    onMessage: event(),
    onDisconnect: event(),
    postMessage: (m) => port.sent.push(m),
    disconnect: () => {},
  };
  pins.attach(port);
  return port;
}

const flush = async () => {
  for (let i = 0; i < 20; i += 1) {
    await Promise.resolve();
  }
};

const context = (origin) => ({ kind: "authenticate", origin, holder: "Alex Tester", userId: "555000000001", retriesLeft: 3 });

test("two tabs asking for the same card: the second window opens only after the first one is done", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const a = await pins.open(context("https://a.example"), { card: "Virtual PCD 00 00" });
  assert.equal(chrome.created.length, 1);
  let bSession = null;
  const b = pins.open(context("https://b.example"), { card: "Virtual PCD 00 00" }).then((s) => (bSession = s));
  await flush();
  assert.equal(chrome.created.length, 1, "no second PIN window while the first is open");
  assert.equal(bSession, null);
  a.close(); // the first login finished
  await b;
  assert.equal(chrome.created.length, 2, "the waiting request gets its window");
  assert.match(chrome.created[1].url, new RegExp(`session=${bSession.id}`));
  bSession.close();
});

test("windows for different cards are not held up by each other", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const a = await pins.open(context("https://a.example"), { card: "reader 0" });
  const b = await pins.open(context("https://a.example"), { card: "reader 1" });
  assert.equal(chrome.created.length, 2);
  a.close();
  b.close();
});

test("after Cancel the same origin's next window waits a moment; other origins do not", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const first = await pins.open(context("https://a.example"), { card: "r0" });
  const port = connectWindow(chrome, pins, first);
  const entry = first.nextEntry();
  port.onMessage.fire({ type: "cancel" });
  await assert.rejects(entry, (e) => e.code === "ERR_USER_CANCELLED");
  assert.equal(chrome.created.length, 1);

  // The page calls again at once: no window yet.
  let again = null;
  const pending = pins.open(context("https://a.example"), { card: "r0" }).then((s) => (again = s));
  await flush();
  t.mock.timers.tick(1500);
  await flush();
  assert.equal(chrome.created.length, 1, "no new window within 1.5 s of Cancel");
  // Another site is not punished for it.
  const other = await pins.open(context("https://b.example"), { card: "r1" });
  assert.equal(chrome.created.length, 2);
  other.close();
  t.mock.timers.tick(500);
  await pending;
  assert.equal(chrome.created.length, 3, "the window opens after the pause");
  assert.equal(again.context.origin, "https://a.example");
  again.close();
});

test("a page that keeps cancelling waits longer each time", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const pauses = [];
  for (let i = 0; i < 4; i += 1) {
    const before = Date.now();
    const opened = pins.open(context("https://loop.example"), { card: "r0" });
    let session = null;
    opened.then((s) => (session = s));
    while (session === null) {
      await flush();
      if (session === null) {
        t.mock.timers.tick(100);
      }
    }
    pauses.push(Date.now() - before);
    const port = connectWindow(chrome, pins, session);
    const entry = session.nextEntry();
    port.onMessage.fire({ type: "cancel" });
    await assert.rejects(entry);
  }
  assert.equal(pauses[0], 0, "the first window opens at once");
  assert.ok(pauses[1] >= 2000 && pauses[1] <= 2100, `pause ${pauses[1]}`);
  assert.ok(pauses[2] >= 4000 && pauses[2] <= 4100, `pause ${pauses[2]}`);
  assert.ok(pauses[3] >= 8000 && pauses[3] <= 8100, `pause ${pauses[3]}`);
});

test("a waiting request whose page closes never opens a window and does not block the card", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const first = await pins.open(context("https://a.example"), { card: "r0" });
  let waiting = null;
  const second = pins.open(context("https://b.example"), { card: "r0", track: (s) => (waiting = s) });
  const third = pins.open(context("https://c.example"), { card: "r0" });
  await flush();
  assert.ok(waiting, "the caller can cancel a waiting request");
  waiting.fail("ERR_USER_CANCELLED", "The page was closed or reloaded.");
  await assert.rejects(second, (e) => e.code === "ERR_USER_CANCELLED");
  first.close();
  const next = await third;
  assert.equal(chrome.created.length, 2, "only the first and the third request got windows");
  assert.equal(next.context.origin, "https://c.example");
  next.close();
});

test("too many requests waiting for one card: ERR_CARD_BUSY", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const first = await pins.open(context("https://a.example"), { card: "r0" });
  const waiting = [];
  for (let i = 0; i < MAX_WAITING_PER_CARD; i += 1) {
    waiting.push(pins.open(context(`https://w${i}.example`), { card: "r0" }));
  }
  await flush();
  await assert.rejects(pins.open(context("https://late.example"), { card: "r0" }), (e) => e.code === "ERR_CARD_BUSY" && /waiting/.test(e.message));
  first.close();
  for (const p of waiting) {
    (await p).close();
  }
  assert.equal(chrome.created.length, 1 + MAX_WAITING_PER_CARD);
});

test("the window context is read when the turn comes, and a failure there frees the card", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const first = await pins.open(context("https://a.example"), { card: "r0" });
  let reads = 0;
  const blocked = pins.open(async () => {
    reads += 1;
    throw Object.assign(new Error("blocked"), { code: "ERR_PIN_BLOCKED" });
  }, { card: "r0", origin: "https://b.example" });
  const after = pins.open(context("https://c.example"), { card: "r0" });
  await flush();
  assert.equal(reads, 0, "not read while another window is open");
  first.close();
  await assert.rejects(blocked, (e) => e.code === "ERR_PIN_BLOCKED");
  assert.equal(reads, 1);
  (await after).close();
  assert.equal(chrome.created.length, 2);
});

test("closing the PIN window counts as cancelling", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const first = await pins.open(context("https://a.example"), { card: "r0" });
  const entry = first.nextEntry();
  chrome.windows.onRemoved.fire(first.windowId);
  await assert.rejects(entry, (e) => e.code === "ERR_USER_CANCELLED");
  let again = null;
  pins.open(context("https://a.example"), { card: "r0" }).then((s) => (again = s));
  await flush();
  assert.equal(again, null);
  t.mock.timers.tick(2000);
  await flush();
  assert.ok(again);
  again.close();
});

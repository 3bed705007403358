// A PIN window opened while the card is still being read (PinWindows.openFor): it says who asks
// at once, takes no PIN until the card's holder and current retries are shown, still allows one
// window per card, and closes (without a pause for the origin) when there turns out to be no card.
// Also: a finished login's answer goes to the page before its window is closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM_BUILT, fakeChrome, connectWindow, until, flush, scriptedHost } from "./fakes.mjs";
import { PinWindows } from "../src/background/pinwindow.js";
import { ACTION_HANDLERS } from "../src/background/actions.js";
import { CardSessions } from "../src/background/management.js";
import { ExtensionError } from "../src/shared/errors.js";
import { effectivePolicy, DEFAULT_LOGIN_ORIGINS } from "../src/shared/origins.js";

const skip = !WASM_BUILT && "run ./build first";
const LOGIN = DEFAULT_LOGIN_ORIGINS[0];
const NONCE = Buffer.alloc(32, 9).toString("base64");
const CERT = "QUFBQS05QQ==";
const card = (retries) => ({
  reader: "Reader A", atr: "3B88", application: "PIV", pinRetriesLeft: retries, pinBlocked: false,
  certificates: [{ slot: "9A", certificate: CERT }],
});

/** A promise with its resolve/reject outside, for answers the test releases itself. */
function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const context = (origin) => ({ kind: "authenticate", origin, holder: "Alex Tester", userId: "", retriesLeft: 3 });

/** PinWindows whose last request found its card (so the next one may open its window early). */
async function warmedPins(chrome) {
  const pins = new PinWindows(chrome);
  const { session } = await pins.openFor(async () => ({ reader: "r0" }), async () => context("https://warm.example"), { preview: { kind: "authenticate", origin: "https://warm.example" } });
  session.close();
  await flush();
  chrome.created.length = 0;
  chrome.removed.length = 0;
  return pins;
}

test("the first request reads the card before any window opens", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const found = deferred();
  const opened = pins.openFor(() => found.promise, async () => context("https://a.example"), { preview: { kind: "authenticate", origin: "https://a.example" } });
  await flush();
  assert.equal(chrome.created.length, 0, "no window before the card is known");
  found.resolve({ reader: "r0" });
  const { session } = await opened;
  assert.equal(chrome.created.length, 1);
  session.close();
});

test("once a card has been found, the window opens while the card is read and takes a PIN only when its context is shown", async () => {
  const chrome = fakeChrome();
  const pins = await warmedPins(chrome);
  const found = deferred();
  const opened = pins.openFor(() => found.promise, async () => context("https://a.example"), { preview: { kind: "authenticate", origin: "https://a.example" } });
  await until(() => chrome.created.length === 1, "the window");
  const port = connectWindow(chrome, pins, chrome.created[0]);
  assert.deepEqual(port.sent, [{ type: "context", context: { kind: "authenticate", origin: "https://a.example", reading: true } }],
    "it says who asks, and nothing about the card yet");
  found.resolve({ reader: "r0" });
  const { session, entry } = await opened;
  assert.equal(entry.reader, "r0");
  assert.deepEqual(port.sent[1], { type: "context", context: context("https://a.example") });
  assert.equal(port.sent.some((m) => m.type === "ready"), false, "no PIN taken before nextEntry");
  const next = session.nextEntry();
  assert.deepEqual(port.sent.at(-1), { type: "ready" });
  port.onMessage.fire({ type: "submit", pin: "123456" });
  assert.equal((await next).pin, "123456");
  session.close();
});

test("a window opened early holds every card until its own is known; then only its card", async () => {
  const chrome = fakeChrome();
  const pins = await warmedPins(chrome);
  const found = deferred();
  const early = pins.openFor(() => found.promise, async () => context("https://a.example"), { preview: { kind: "authenticate", origin: "https://a.example" } });
  await until(() => chrome.created.length === 1, "the early window");
  const same = pins.openFor(async () => ({ reader: "r0" }), async () => context("https://b.example"), { preview: { kind: "authenticate", origin: "https://b.example" } });
  const other = pins.openFor(async () => ({ reader: "r1" }), async () => context("https://c.example"), { preview: { kind: "authenticate", origin: "https://c.example" } });
  await flush();
  assert.equal(chrome.created.length, 1, "no other window while the first one's card is unknown");
  found.resolve({ reader: "r0" });
  const first = (await early).session;
  const third = (await other).session;
  assert.equal(chrome.created.length, 2, "another card's window opens");
  assert.match(chrome.created[1].url, new RegExp(`session=${third.id}`));
  first.close();
  const second = (await same).session;
  assert.equal(chrome.created.length, 3, "the same card's window waited for the first to be done");
  second.close();
  third.close();
});

test("no card after all: the early window closes, the error stands, the origin gets no pause and no window until a card is found", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const chrome = fakeChrome();
  const pins = await warmedPins(chrome);
  const found = deferred();
  const opened = pins.openFor(() => found.promise, async () => context("https://a.example"), { preview: { kind: "authenticate", origin: "https://a.example" } });
  await until(() => chrome.created.length === 1, "the early window");
  const port = connectWindow(chrome, pins, chrome.created[0]);
  found.reject(new ExtensionError("ERR_NO_CARD", "Insert your smartcard and try again."));
  await assert.rejects(opened, (e) => e.code === "ERR_NO_CARD");
  assert.deepEqual(chrome.removed, [chrome.created[0].id], "the window is removed");
  port.onDisconnect.fire();
  assert.equal(pins.gate.cooldownLeft("https://a.example"), 0, "not counted as a window left unanswered");
  // Called again in a loop with no card: no window flashes up.
  await assert.rejects(
    pins.openFor(async () => { throw new ExtensionError("ERR_NO_CARD", "Insert your smartcard and try again."); }, async () => context("https://a.example"), { preview: { kind: "authenticate", origin: "https://a.example" } }),
    (e) => e.code === "ERR_NO_CARD",
  );
  assert.equal(chrome.created.length, 1);
});

test("a window created after its request was given up is removed as soon as it exists", async () => {
  const chrome = fakeChrome();
  const pins = await warmedPins(chrome);
  const created = deferred();
  const create = chrome.windows.create;
  chrome.windows.create = async (options) => {
    await created.promise;
    return create(options);
  };
  const opened = pins.openFor(async () => {
    throw new ExtensionError("ERR_NO_CARD", "Insert your smartcard and try again.");
  }, async () => context("https://a.example"), { preview: { kind: "authenticate", origin: "https://a.example" } });
  await assert.rejects(opened, (e) => e.code === "ERR_NO_CARD");
  assert.equal(chrome.created.length, 0);
  created.resolve();
  await until(() => chrome.removed.length === 1, "the late window removed");
  assert.equal(chrome.removed[0], chrome.created[0].id);
});

test("a finished login answers the page before its window is closed", async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const session = await pins.open(context("https://a.example"), { card: "r0" });
  const port = connectWindow(chrome, pins, chrome.created[0]);
  session.close();
  // What the caller does in the same turn (answer the page) comes before the window goes.
  assert.deepEqual(chrome.removed, []);
  assert.equal(port.sent.some((m) => m.type === "done"), false);
  assert.equal(pins.gate.holds(session), false, "the card is free at once");
  await flush();
  assert.deepEqual(chrome.removed, [chrome.created[0].id]);
  assert.deepEqual(port.sent.at(-1), { type: "done" });
});

test("authenticate: with the window open early, the retries it shows are the card's current ones and the host signs with the card shown", { skip }, async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  let retries = 3;
  const cardsAnswers = [];
  const host = scriptedHost((command) => {
    if (command === "cards") {
      const answer = deferred();
      cardsAnswers.push(answer);
      return answer.promise;
    }
    if (command === "authenticate") {
      return { format: "web-eid:1.0" };
    }
    return {};
  });
  const ctx = {
    origin: LOGIN, policy: effectivePolicy({}, false), host, pins, track() {}, untrack() {},
    cardSessions: new CardSessions(), owner: { open: true }, isClosed: () => false,
  };
  const login = async (n) => {
    const result = ACTION_HANDLERS.authenticate(ctx, { challengeNonce: NONCE });
    const before = chrome.created.length;
    await until(() => cardsAnswers.length === n, "the cards request");
    const earlyWindow = chrome.created.length > before;
    cardsAnswers[n - 1].resolve({ cards: [card(retries)] });
    await until(() => chrome.created.length > before, "the window");
    const port = connectWindow(chrome, pins, chrome.created.at(-1));
    await until(() => port.sent.some((m) => m.type === "ready"), "ready");
    const shown = port.sent.filter((m) => m.type === "context").at(-1).context;
    port.onMessage.fire({ type: "submit", pin: "123456" });
    await result;
    return { earlyWindow, shown };
  };
  const first = await login(1);
  assert.equal(first.earlyWindow, false, "the first login reads the card first");
  retries = 2; // another program spent a try meanwhile
  const second = await login(2);
  assert.equal(second.earlyWindow, true, "the window opened while the card was read");
  assert.equal(second.shown.retriesLeft, 2, "the retries shown are read for this login");
  assert.equal(host.sent("authenticate").at(-1).args.certificate, CERT);
  assert.equal(host.sent("cards").length, 2, "one cards request per login");
});

test("sign: a window opened early shows at once what the site says is signed", { skip }, async () => {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  let hold = null;
  const host = scriptedHost((command) => {
    if (command === "cards") {
      return hold ? hold.promise.then(() => ({ cards: [card(3)] })) : { cards: [card(3)] };
    }
    return { signature: "U0lH" };
  });
  const ctx = {
    origin: LOGIN, policy: effectivePolicy({}, false), host, pins, track() {}, untrack() {},
    cardSessions: new CardSessions(), owner: { open: true }, isClosed: () => false,
  };
  const hash = Buffer.alloc(32, 0x11).toString("base64");
  const args = { hash, hashFunction: "SHA-256", certificate: CERT, description: "Prescription 42" };
  const sign = async () => {
    const result = ACTION_HANDLERS.sign(ctx, args);
    await until(() => chrome.created.length > 0, "the window");
    const port = connectWindow(chrome, pins, chrome.created.at(-1));
    return { result, port };
  };
  const first = await sign();
  await until(() => first.port.sent.some((m) => m.type === "ready"), "ready");
  first.port.onMessage.fire({ type: "submit", pin: "123456" });
  await first.result;
  chrome.created.length = 0;
  hold = deferred();
  const second = await sign();
  const preview = second.port.sent[0].context;
  assert.equal(preview.reading, true, "the card is still being read");
  assert.equal(preview.kind, "sign");
  assert.equal(preview.description, "Prescription 42");
  assert.equal(preview.fingerprint, "1111 1111 1111 1111");
  assert.equal(preview.holder, undefined);
  hold.resolve();
  await until(() => second.port.sent.some((m) => m.type === "ready"), "ready");
  second.port.onMessage.fire({ type: "submit", pin: "123456" });
  assert.deepEqual(await second.result, { signature: "U0lH" });
});

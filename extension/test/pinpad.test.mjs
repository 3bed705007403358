// PIN-pad readers (INTERFACES.md "PIN entry on the reader"): the worker alone decides, from the
// card's `pinPad`, that the PIN is typed on the reader; the window then has no fields, the first
// request goes as soon as the window shows what it is for, and a wrong PIN is tried again only
// when the user presses "Try again". Also: a card the host reports `held` is busy, not missing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM_BUILT, fakeChrome, connectWindow, until, flush, scriptedHost } from "./fakes.mjs";
import { ACTION_HANDLERS } from "../src/background/actions.js";
import { CardSessions } from "../src/background/management.js";
import { PinWindows } from "../src/background/pinwindow.js";
import { ExtensionError } from "../src/shared/errors.js";
import { effectivePolicy, DEFAULT_LOGIN_ORIGINS, DEFAULT_CARD_MANAGEMENT_ORIGINS } from "../src/shared/origins.js";

const skip = !WASM_BUILT && "run ./build first";
const LOGIN = DEFAULT_LOGIN_ORIGINS[0];
const MANAGE = DEFAULT_CARD_MANAGEMENT_ORIGINS[0];
const SESSION = "s-0123456789abcdef";
const CERT = "QUFBQS05QQ==";
const NONCE = Buffer.alloc(32, 9).toString("base64");
const CHALLENGE = Buffer.alloc(32, 7).toString("base64");
const TOKEN = { format: "web-eid:1.0", signature: "U0lH" };

const card = (pinPad, pinPadChange = pinPad) => ({
  reader: "Pad Reader", atr: "3B88", application: "PIV", held: false, pinPad, pinPadChange, pinRetriesLeft: 3, pinBlocked: false,
  pukRetriesLeft: 10, cardId: "ab".repeat(32), certificates: [{ slot: "9A", certificate: CERT }],
});

/** The worker's context for one page of `origin`; the host answers `cards` with `cards` and the rest with `answer`. */
function harness({ cards = [card(true)], answer = () => ({}) } = {}) {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const host = scriptedHost((command, args) => {
    if (command === "cards") {
      return { cards };
    }
    if (command === "session-open") {
      return { session: SESSION, reader: cards[0].reader, cardId: cards[0].cardId, pendingRenewal: [] };
    }
    if (command === "pin-status") {
      return { pinRetriesLeft: 3 };
    }
    return answer(command, args);
  });
  const cardSessions = new CardSessions();
  const page = (origin) => {
    const owner = { open: true };
    return {
      origin, policy: effectivePolicy({}, true), host, pins, cardSessions, owner,
      track() {}, untrack() {}, isClosed: () => !owner.open,
    };
  };
  return { chrome, pins, host, cardSessions, page };
}

/** Connects the `n`th window (0-based) once it exists; its messages collect in `port.sent`. */
async function connect(h, n = 0) {
  await until(() => h.chrome.created.length > n, `PIN window ${n + 1}`);
  return connectWindow(h.chrome, h.pins, h.chrome.created[n]);
}

const contexts = (port) => port.sent.filter((m) => m.type === "context").map((m) => m.context);
const hostError = (code, message, extra) => new ExtensionError(code, message, extra);

test("a login on a PIN-pad reader: no fields, the request goes at once with pinEntry reader and no PIN", { skip }, async () => {
  const h = harness({ answer: () => TOKEN });
  const result = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
  const port = await connect(h);
  assert.deepEqual(await result, TOKEN);
  assert.equal(contexts(port).at(-1).pinEntry, "reader", "the window is told to ask for the keypad");
  assert.equal(contexts(port).at(-1).retriesLeft, 3, "the retries are shown as in the window");
  assert.equal(port.sent.some((m) => m.type === "ready"), false, "nothing to type in the window");
  assert.ok(port.sent.some((m) => m.type === "reader"), "the window says the reader is asking");
  const sent = h.host.sent("authenticate");
  assert.equal(sent.length, 1);
  assert.equal(sent[0].args.pinEntry, "reader");
  assert.equal(Object.hasOwn(sent[0].args, "pin"), false);
  assert.equal(sent[0].args.certificate, CERT);
});

test("change PIN on a PIN-pad reader: the reader asks for all three; no PIN or new PIN in the request", { skip }, async () => {
  const h = harness();
  const result = ACTION_HANDLERS.changePin(h.page(MANAGE), { newPin: "654321" });
  const port = await connect(h);
  assert.deepEqual(await result, {});
  assert.equal(contexts(port).at(-1).kind, "change-pin");
  assert.equal(contexts(port).at(-1).pinEntry, "reader");
  assert.deepEqual(h.host.sent("change-pin")[0].args, { certificate: CERT, pinEntry: "reader" });
});

test("change PIN on a pad that can only check a PIN: the window asks for all three", { skip }, async () => {
  const h = harness({ cards: [card(true, false)] });
  const result = ACTION_HANDLERS.changePin(h.page(MANAGE), {});
  const port = await connect(h);
  await until(() => port.sent.some((m) => m.type === "ready"), "the fields to be offered");
  assert.equal(contexts(port).at(-1).pinEntry, undefined, "no keypad mode");
  port.onMessage.fire({ type: "submit", pin: "123456", newPin: "654321" });
  assert.deepEqual(await result, {});
  const sent = h.host.sent("change-pin")[0].args;
  assert.equal(sent.pin, "123456");
  assert.equal(sent.newPin, "654321");
  assert.equal(Object.hasOwn(sent, "pinEntry"), false);
});

test("a legacy 4-character PIN the pad cannot take: the window's own field takes it instead", { skip }, async () => {
  let tries = 0;
  const h = harness({
    answer: () => {
      tries += 1;
      if (tries === 1) {
        throw hostError("ERR_PIN_FORMAT", "The reader did not accept a PIN of that length.");
      }
      return TOKEN;
    },
  });
  const result = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
  const port = await connect(h);
  await until(() => port.sent.some((m) => m.type === "ready"), "the field to be offered");
  const switched = port.sent.find((m) => m.type === "fields");
  assert.ok(switched, "the window is told to show its fields");
  assert.match(switched.message, /6 to 8 digits/);
  assert.equal(h.host.sent("authenticate").length, 1, "nothing sent again by itself");
  port.onMessage.fire({ type: "submit", pin: "1234" });
  assert.deepEqual(await result, TOKEN);
  const second = h.host.sent("authenticate")[1].args;
  assert.equal(second.pin, "1234");
  assert.equal(Object.hasOwn(second, "pinEntry"), false, "typed in the window, not on the pad");
});

test("a wrong PIN on the pad: the window shows the retries and the next request waits for the user's Try again", { skip }, async () => {
  let tries = 0;
  const h = harness({
    answer: () => {
      tries += 1;
      if (tries === 1) {
        throw hostError("ERR_PIN_INCORRECT", "Wrong PIN.", { retriesLeft: 2 });
      }
      return TOKEN;
    },
  });
  const result = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
  const port = await connect(h);
  await until(() => port.sent.some((m) => m.type === "ready"), "Try again to be offered");
  const error = port.sent.find((m) => m.type === "error");
  assert.equal(error.error.code, "ERR_PIN_INCORRECT");
  assert.equal(error.error.retriesLeft, 2);
  assert.equal(error.final, false);
  await flush(200);
  assert.equal(h.host.sent("authenticate").length, 1, "never sent again by itself");
  // "Try again" carries no PIN; even a window that sent one would not have it forwarded.
  port.onMessage.fire({ type: "submit", pin: "123456" });
  assert.deepEqual(await result, TOKEN);
  const sent = h.host.sent("authenticate");
  assert.equal(sent.length, 2);
  assert.equal(sent[1].args.pinEntry, "reader");
  assert.equal(Object.hasOwn(sent[1].args, "pin"), false);
});

test("the reader timing out or its Cancel key ends the window with the reader's words", { skip }, async () => {
  for (const [code, message] of [
    ["ERR_TIMEOUT", "The PIN was not typed on the reader in time. Try again."],
    ["ERR_USER_CANCELLED", "PIN entry was cancelled on the reader."],
  ]) {
    const h = harness({ answer: () => { throw hostError(code, message); } });
    const result = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
    const port = await connect(h);
    await assert.rejects(result, (e) => e.code === code && e.message === message);
    await flush();
    assert.deepEqual(h.chrome.removed, [h.chrome.created[0].id], "the window is removed");
    assert.equal(port.sent.some((m) => m.type === "ready"), false);
    assert.equal(h.host.sent("authenticate").length, 1, "not retried");
    assert.ok(h.pins.gate.cooldownLeft(LOGIN) > 0, "counted as an unanswered window");
  }
});

test("a page's pinEntry is not honoured: the card's pinPad decides", { skip }, async () => {
  // No pad, the page asks for the reader: the window takes the PIN and the request carries it.
  const noPad = harness({ cards: [card(false)], answer: () => TOKEN });
  const typed = ACTION_HANDLERS.authenticate(noPad.page(LOGIN), { challengeNonce: NONCE, pinEntry: "reader" });
  const port = await connect(noPad);
  await until(() => port.sent.some((m) => m.type === "ready"), "the PIN field");
  assert.equal(Object.hasOwn(contexts(port).at(-1), "pinEntry"), false);
  port.onMessage.fire({ type: "submit", pin: "123456" });
  await typed;
  const args = noPad.host.sent("authenticate")[0].args;
  assert.equal(args.pin, "123456");
  assert.equal(Object.hasOwn(args, "pinEntry"), false);

  // A pad, the page asks for the window: the reader still takes it.
  const pad = harness({ answer: () => TOKEN });
  const onReader = ACTION_HANDLERS.authenticate(pad.page(LOGIN), { challengeNonce: NONCE, pinEntry: "window" });
  await connect(pad);
  await onReader;
  assert.equal(pad.host.sent("authenticate")[0].args.pinEntry, "reader");
});

test("unlock on a PIN-pad reader still takes the new PIN in the window", { skip }, async () => {
  const h = harness();
  const result = ACTION_HANDLERS.unlock(h.page(MANAGE), { puk: "12345678", pinEntry: "reader" });
  const port = await connect(h);
  await until(() => port.sent.some((m) => m.type === "ready"), "the new-PIN fields");
  assert.equal(Object.hasOwn(contexts(port).at(-1), "pinEntry"), false);
  assert.equal(h.host.sent("unlock").length, 0, "nothing sent before the user typed");
  port.onMessage.fire({ type: "submit", newPin: "246810" });
  assert.deepEqual(await result, {});
  assert.deepEqual(h.host.sent("unlock")[0].args, { certificate: CERT, puk: "12345678", newPin: "246810" });
});

test("a renewal's proofs on a PIN-pad reader: one request at the reader, and the pad's timeout keeps the session", { skip }, async () => {
  const proofs = [{ slot: "9A", challenge: CHALLENGE, generate: "P256" }, { slot: "9C", challenge: CHALLENGE, generate: "P256" }];
  let first = true;
  const h = harness({
    answer: (command) => {
      if (command !== "prove-possession") {
        return {};
      }
      if (first) {
        first = false;
        throw hostError("ERR_TIMEOUT", "The PIN was not typed on the reader in time. Try again.");
      }
      return { proofs: [] };
    },
  });
  const ctx = h.page(MANAGE);
  await ACTION_HANDLERS.openCardSession(ctx, { certificate: CERT });
  const request = { session: SESSION, command: "prove-possession", arguments: { proofs, purpose: "renew" } };
  const timedOut = ACTION_HANDLERS.cardSessionPin(ctx, request);
  await connect(h);
  await assert.rejects(timedOut, (e) => e.code === "ERR_TIMEOUT");
  assert.deepEqual(h.cardSessions.ownedBy(ctx.owner), [SESSION], "a pad's timeout is not the session's end");
  assert.deepEqual(h.host.sent("prove-possession")[0].args, { session: SESSION, proofs, pinEntry: "reader" });

  // The page asks again (after the pause for an unanswered window): the session still serves it.
  h.pins.gate.cooldowns.clear();
  const again = ACTION_HANDLERS.cardSessionPin(ctx, request);
  await connect(h, 1);
  assert.deepEqual(await again, { proofs: [] });
});

test("Cancel in the window while the reader asks: the card stays this request's until the host answers", { skip }, async () => {
  let answer;
  const h = harness({ answer: () => new Promise((resolve, reject) => (answer = { resolve, reject })) });
  const first = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
  const port = await connect(h);
  await until(() => answer, "the request at the reader");
  port.onMessage.fire({ type: "cancel" });
  const second = ACTION_HANDLERS.authenticate(h.page("https://other.example"), { challengeNonce: NONCE });
  await flush(100);
  assert.equal(h.chrome.created.length, 1, "no second window while the reader still asks for the first");
  answer.reject(hostError("ERR_USER_CANCELLED", "PIN entry was cancelled on the reader."));
  await assert.rejects(first, (e) => e.code === "ERR_USER_CANCELLED");
  await connect(h, 1);
  await until(() => h.host.sent("authenticate").length === 2, "the second request at the reader");
  answer.resolve(TOKEN);
  assert.deepEqual(await second, TOKEN);
});

test("a window opened while the card is read switches to the reader before anything is enabled", { skip }, async () => {
  const h = harness({ answer: () => TOKEN });
  // A first login finds the card, so the next window opens while `cards` is still on its way.
  const warm = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
  await connect(h);
  await warm;
  let releaseCards;
  const cardsAnswered = new Promise((resolve) => (releaseCards = resolve));
  const request = h.host.request.bind(h.host);
  h.host.request = async (command, args) => {
    if (command === "cards") {
      await cardsAnswered;
    }
    return request(command, args);
  };
  const result = ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE });
  const port = await connect(h, 1);
  assert.deepEqual(port.sent.map((m) => m.type), ["context"]);
  assert.equal(port.sent[0].context.reading, true);
  releaseCards();
  assert.deepEqual(await result, TOKEN);
  assert.deepEqual(port.sent.map((m) => m.type), ["context", "context", "reader"], "no ready: no field is ever enabled");
  assert.equal(port.sent[1].context.pinEntry, "reader");
  assert.equal(h.host.sent("authenticate")[1].args.pinEntry, "reader");
});

test("a card the host reports held is busy, not missing, whoever holds it", { skip }, async () => {
  const held = { reader: "Pad Reader", atr: "3B88", application: null, held: true, pinPad: false };
  const h = harness({ cards: [held] });
  const busy = (e) => e.code === "ERR_CARD_BUSY" && /another tab or another program/.test(e.message);
  // No card session of this worker's: another program (or another browser) holds it.
  await assert.rejects(ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE }), busy);
  await assert.rejects(ACTION_HANDLERS.changePin(h.page(MANAGE), {}), busy);
  await assert.rejects(ACTION_HANDLERS.sign(h.page(LOGIN), { hash: Buffer.alloc(32).toString("base64"), hashFunction: "SHA-256", certificate: CERT }), busy);
  // A card that is simply not PIV is still "no card".
  const other = harness({ cards: [{ ...held, held: false }] });
  await assert.rejects(ACTION_HANDLERS.authenticate(other.page(LOGIN), { challengeNonce: NONCE }), (e) => e.code === "ERR_NO_CARD");
  assert.equal(h.chrome.created.length + other.chrome.created.length, 0, "no window");
});

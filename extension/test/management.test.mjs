// The worker's card-management orchestration (actions.js, management.js) with a scripted host and
// the real PinWindows on a fake chrome: who may call what, what reaches the host, and that the
// PIN comes from the extension's window only and is never resent by itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { WASM_BUILT, fakeChrome, connectWindow, until, flush, scriptedHost } from "./fakes.mjs";
import { ACTION_HANDLERS, CARD_MANAGEMENT_ACTIONS, mayRun } from "../src/background/actions.js";
import { CardSessions, PURPOSES } from "../src/background/management.js";
import { PinWindows } from "../src/background/pinwindow.js";
import { ExtensionError } from "../src/shared/errors.js";
import { effectivePolicy, DEFAULT_LOGIN_ORIGINS, DEFAULT_CARD_MANAGEMENT_ORIGINS } from "../src/shared/origins.js";
import { ACTIONS } from "../src/shared/messages.js";

const skip = !WASM_BUILT && "run ./build first";
const MANAGE = DEFAULT_CARD_MANAGEMENT_ORIGINS[0];
const LOGIN = DEFAULT_LOGIN_ORIGINS[0];
const SESSION = "s-0123456789abcdef";
const AUTH_A = "QUFBQS05QQ==";
const SIGN_A = "QUFBQS05Qw==";
const AUTH_B = "QkJCQi05QQ==";
const CHALLENGE = Buffer.alloc(32, 7).toString("base64");

const cardA = {
  reader: "Reader A", atr: "3B88", application: "PIV", pinRetriesLeft: 3, pinBlocked: false, pukRetriesLeft: 10,
  cardId: "ab".repeat(32), certificates: [{ slot: "9A", certificate: AUTH_A }, { slot: "9C", certificate: SIGN_A }],
};
const cardB = { ...cardA, reader: "Reader B", cardId: "cd".repeat(32), certificates: [{ slot: "9A", certificate: AUTH_B }] };
const blank = { reader: "Reader C", atr: "3B88", application: "PIV", pinRetriesLeft: 3, pinBlocked: false, pukRetriesLeft: 10, cardId: null };

/** A worker context for one page (`owner`) of `origin`, with the host answering `answer`. */
function harness({ origin = MANAGE, cards = [cardA], answer = () => ({}) } = {}) {
  const chrome = fakeChrome();
  const pins = new PinWindows(chrome);
  const host = scriptedHost((command, args) => {
    if (command === "cards") {
      return { cards };
    }
    if (command === "session-open") {
      return { session: SESSION, reader: args.reader || "Reader A", cardId: cards[0].cardId, pendingRenewal: [] };
    }
    if (command === "pin-status") {
      return { pinRetriesLeft: 3 };
    }
    return answer(command, args);
  });
  const cardSessions = new CardSessions();
  const page = (pageOrigin = origin) => {
    const owner = { open: true };
    return {
      origin: pageOrigin,
      policy: effectivePolicy({}, true),
      host,
      pins,
      track() {},
      untrack() {},
      cardSessions,
      owner,
      isClosed: () => !owner.open,
    };
  };
  return { chrome, pins, host, cardSessions, ctx: page(), page };
}

/** Waits for the `n`th PIN window (0-based), connects it and waits until it may be answered. */
async function pinWindow(h, n = 0) {
  await until(() => h.chrome.created.length > n, `PIN window ${n + 1}`);
  const port = connectWindow(h.chrome, h.pins, h.chrome.created[n]);
  await until(() => port.sent.some((m) => m.type === "ready"), "the window to be ready");
  const context = port.sent.find((m) => m.type === "context").context;
  const submit = async (entry) => {
    const readies = port.sent.filter((m) => m.type === "ready").length;
    port.sent.length = 0;
    port.onMessage.fire({ type: "submit", ...entry });
    await flush();
    return readies;
  };
  const waitReady = () => until(() => port.sent.some((m) => m.type === "ready"), "the window to be ready again");
  return { port, context, submit, waitReady, win: h.chrome.created[n] };
}

const hostError = (code, message, extra) => new ExtensionError(code, message, extra);

test("every card-management action is refused to login origins and to other sites", () => {
  const policy = effectivePolicy({}, false);
  for (const action of CARD_MANAGEMENT_ACTIONS) {
    assert.ok(Object.hasOwn(ACTIONS, action), `${action} is a page action`);
    assert.equal(mayRun(action, LOGIN, policy), false, `${action} from a login origin`);
    assert.equal(mayRun(action, "https://evil.example", policy), false, `${action} from elsewhere`);
    assert.equal(mayRun(action, MANAGE, policy), true, `${action} from the card-management origin`);
    assert.equal(mayRun(action, "http://localhost:8443", policy), false, `${action} from localhost without developer mode`);
  }
  for (const action of ["cards", "openCardSession", "cardSession", "cardSessionPin", "changePin", "unlock"]) {
    assert.ok(CARD_MANAGEMENT_ACTIONS.has(action), action);
  }
  // Logins and signing stay where they were.
  assert.equal(mayRun("authenticate", LOGIN, policy), true);
  assert.equal(mayRun("sign", LOGIN, policy), true);
});

test("developer mode serves localhost card management, as it does logins", () => {
  const dev = effectivePolicy({}, true);
  for (const action of CARD_MANAGEMENT_ACTIONS) {
    assert.equal(mayRun(action, "http://localhost:8443", dev), true, action);
    assert.equal(mayRun(action, "http://127.0.0.1:9000", dev), true, action);
    assert.equal(mayRun(action, "http://example.test", dev), false, action);
  }
  // A policy's own card-management list replaces the default; login origins stay out.
  const listed = effectivePolicy({ cardManagementOrigins: ["https://cms.example.nhs.uk"] }, false);
  assert.equal(mayRun("cardSession", "https://cms.example.nhs.uk", listed), true);
  assert.equal(mayRun("cardSession", MANAGE, listed), false);
  assert.equal(mayRun("cardSession", LOGIN, listed), false);
});

test("cards relays the host's answer unchanged", { skip }, async () => {
  const h = harness({ cards: [cardA, blank] });
  const result = await ACTION_HANDLERS.cards(h.ctx, { anything: "ignored" });
  assert.deepEqual(result, { cards: [cardA, blank] });
  assert.deepEqual(h.host.requests, [{ command: "cards", args: {} }]);
});

test("a card session is opened on the named card and relays each step with its id, PINs from the page dropped", { skip }, async () => {
  const h = harness({
    cards: [cardA, blank],
    answer: (command) => (command === "generate-key" ? { publicKey: "UFVC" } : command === "management-authenticate" ? { template: "gA==" } : {}),
  });
  const opened = await ACTION_HANDLERS.openCardSession(h.ctx, { reader: "Reader C", pin: "123456" });
  assert.equal(opened.session, SESSION);
  assert.deepEqual(h.host.sent("session-open")[0].args, { reader: "Reader C" });

  const auth = await ACTION_HANDLERS.cardSession(h.ctx, {
    session: SESSION, command: "management-authenticate", arguments: { algorithm: "3DES", template: "gAA=", pin: "123456" },
  });
  assert.deepEqual(auth, { template: "gA==" });
  assert.deepEqual(h.host.sent("management-authenticate")[0].args, { session: SESSION, algorithm: "3DES", template: "gAA=" });
  const key = await ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command: "generate-key", arguments: { slot: "9A", algorithm: "P256" } });
  assert.deepEqual(key, { publicKey: "UFVC" });
  await ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command: "put-data", arguments: { object: "CHUID", data: "AAEC" } });
  assert.deepEqual(h.host.sent("put-data")[0].args, { session: SESSION, object: "CHUID", data: "AAEC" });
  // Arguments are validated as the host validates them, before anything is sent.
  await assert.rejects(
    ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command: "generate-key", arguments: { slot: "9B", algorithm: "P256" } }),
    (e) => e.code === "ERR_INVALID_REQUEST",
  );
  assert.equal(h.host.sent("generate-key").length, 1);
  await ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command: "session-close" });
  assert.deepEqual(h.host.sent("session-close")[0].args, { session: SESSION });
  // Closed: the id is no longer honoured, and the host is not asked.
  const before = h.host.requests.length;
  await assert.rejects(
    ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command: "generate-key", arguments: { slot: "9A", algorithm: "P256" } }),
    (e) => e.code === "ERR_TIMEOUT",
  );
  assert.equal(h.host.requests.length, before);
});

test("a card session belongs to the page that opened it", { skip }, async () => {
  const h = harness();
  await ACTION_HANDLERS.openCardSession(h.ctx, { certificate: AUTH_A });
  assert.deepEqual(h.host.sent("session-open")[0].args, { certificate: AUTH_A });
  const other = h.page(MANAGE);
  const before = h.host.requests.length;
  await assert.rejects(
    ACTION_HANDLERS.cardSession(other, { session: SESSION, command: "generate-key", arguments: { slot: "9A", algorithm: "P256" } }),
    (e) => e.code === "ERR_TIMEOUT",
  );
  await assert.rejects(
    ACTION_HANDLERS.cardSessionPin(other, { session: SESSION, command: "verify-pin", arguments: {} }),
    (e) => e.code === "ERR_TIMEOUT",
  );
  await assert.rejects(ACTION_HANDLERS.changePin(other, { session: SESSION }), (e) => e.code === "ERR_TIMEOUT");
  assert.equal(h.host.requests.length, before, "nothing reached the host");
  assert.deepEqual(h.cardSessions.ownedBy(h.ctx.owner), [SESSION]);
  assert.deepEqual(h.cardSessions.ownedBy(other.owner), []);
});

test("a page gone while its session was opening does not leave the card held", { skip }, async () => {
  const h = harness();
  h.ctx.owner.open = false;
  await assert.rejects(ACTION_HANDLERS.openCardSession(h.ctx, {}), (e) => e.code === "ERR_USER_CANCELLED");
  await flush();
  assert.deepEqual(h.host.sent("session-close")[0].args, { session: SESSION });
  assert.deepEqual(h.cardSessions.ownedBy(h.ctx.owner), []);
});

test("cardSession relays only the listed commands; PIN commands go through the window", { skip }, async () => {
  const h = harness();
  await ACTION_HANDLERS.openCardSession(h.ctx, {});
  for (const command of ["prove-possession", "verify-pin", "change-pin", "authenticate", "session-open", "cards"]) {
    await assert.rejects(
      ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command, arguments: { slot: "9A", challenge: CHALLENGE, pin: "123456" } }),
      (e) => e.code === "ERR_UNKNOWN_COMMAND",
      command,
    );
  }
  for (const command of ["generate-key", "write-certificate", "session-close"]) {
    await assert.rejects(
      ACTION_HANDLERS.cardSessionPin(h.ctx, { session: SESSION, command, arguments: {} }),
      (e) => e.code === "ERR_UNKNOWN_COMMAND",
      command,
    );
  }
  assert.equal(h.host.requests.filter((r) => !["cards", "session-open"].includes(r.command)).length, 0);
});

test("prove-possession: the window says what the PIN is for, and the extension inserts the PIN typed there", { skip }, async () => {
  const signature = { signature: "U0lH", signatureAlgorithm: { cryptoAlgorithm: "ECC", hashFunction: "SHA-256", paddingScheme: "NONE" } };
  const h = harness({ answer: (command) => (command === "prove-possession" ? signature : {}) });
  await ACTION_HANDLERS.openCardSession(h.ctx, { certificate: AUTH_A });
  const result = ACTION_HANDLERS.cardSessionPin(h.ctx, {
    session: SESSION, command: "prove-possession", arguments: { slot: "9A", challenge: CHALLENGE, pin: "999999" },
  });
  const w = await pinWindow(h);
  assert.equal(w.context.kind, "confirm");
  assert.equal(w.context.purpose, PURPOSES.renew);
  assert.equal(w.context.purpose, "Renew your smartcard certificates");
  assert.equal(w.context.origin, MANAGE);
  assert.equal(w.context.retriesLeft, 3, "retries read in the session before entry");
  assert.deepEqual(h.host.sent("pin-status")[0].args, { session: SESSION });
  assert.equal(w.win.height, 480);
  await w.submit({ pin: "123456" });
  assert.deepEqual(await result, signature);
  const sent = h.host.sent("prove-possession");
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0].args, { session: SESSION, slot: "9A", challenge: CHALLENGE, pin: "123456" }, "the window's PIN, not the page's");
});

test("a wrong PIN is shown in the window and sent again only when the user types again", { skip }, async () => {
  let answers = 0;
  const h = harness({
    answer: (command) => {
      if (command !== "verify-pin") {
        return {};
      }
      answers += 1;
      if (answers === 1) {
        throw hostError("ERR_PIN_INCORRECT", "Wrong PIN.", { retriesLeft: 2 });
      }
      return {};
    },
  });
  await ACTION_HANDLERS.openCardSession(h.ctx, { reader: "Reader A" });
  const result = ACTION_HANDLERS.cardSessionPin(h.ctx, { session: SESSION, command: "verify-pin", arguments: { purpose: "issue" } });
  const w = await pinWindow(h);
  assert.equal(w.context.purpose, "Set up this card");
  await w.submit({ pin: "111111" });
  const error = w.port.sent.find((m) => m.type === "error");
  assert.equal(error.error.code, "ERR_PIN_INCORRECT");
  assert.equal(error.error.retriesLeft, 2);
  assert.equal(error.final, false, "the window stays open for another try");
  await w.waitReady();
  await flush();
  assert.equal(h.host.sent("verify-pin").length, 1, "not resent by itself");
  await w.submit({ pin: "123456" });
  assert.deepEqual(await result, {});
  assert.deepEqual(h.host.sent("verify-pin").map((r) => r.args.pin), ["111111", "123456"]);
});

test("a purpose the extension does not know is refused before any window", { skip }, async () => {
  const h = harness();
  await ACTION_HANDLERS.openCardSession(h.ctx, {});
  await assert.rejects(
    ACTION_HANDLERS.cardSessionPin(h.ctx, { session: SESSION, command: "verify-pin", arguments: { purpose: "Enter your PIN to win a prize" } }),
    (e) => e.code === "ERR_INVALID_REQUEST",
  );
  assert.equal(h.chrome.created.length, 0);
});

test("change PIN: a submission without a valid new PIN is answered in the window and nothing is sent", { skip }, async () => {
  const h = harness();
  const result = ACTION_HANDLERS.changePin(h.ctx, {});
  const w = await pinWindow(h);
  assert.equal(w.context.kind, "change-pin");
  assert.equal(w.context.retriesLeft, 3);
  for (const bad of [{ pin: "123456" }, { pin: "123456", newPin: "12345" }, { pin: "123456", newPin: "12ab5678" }, { pin: "12", newPin: "654321" }]) {
    await w.submit(bad);
    const error = w.port.sent.find((m) => m.type === "error");
    assert.equal(error && error.error.code, "ERR_PIN_FORMAT", JSON.stringify(bad));
    await w.waitReady();
  }
  assert.equal(h.host.sent("change-pin").length, 0);
  await w.submit({ pin: "123456", newPin: "654321" });
  assert.deepEqual(await result, {});
  assert.deepEqual(h.host.sent("change-pin")[0].args, { pin: "123456", newPin: "654321", certificate: AUTH_A });
});

test("change PIN and unlock name the card the window shows; with several cards and no choice nothing happens", { skip }, async () => {
  const h = harness({ cards: [cardA, cardB] });
  await assert.rejects(ACTION_HANDLERS.changePin(h.ctx, {}), (e) => e.code === "ERR_INVALID_REQUEST" && /choose/.test(e.message));
  await assert.rejects(ACTION_HANDLERS.unlock(h.ctx, { puk: "12345678" }), (e) => e.code === "ERR_INVALID_REQUEST");
  assert.equal(h.chrome.created.length, 0);
  const result = ACTION_HANDLERS.unlock(h.ctx, { puk: "12345678", reader: "Reader B", newPin: "000000" });
  const w = await pinWindow(h);
  assert.equal(w.context.kind, "unlock");
  await w.submit({ newPin: "246810" });
  assert.deepEqual(await result, {});
  assert.deepEqual(h.host.sent("unlock")[0].args, { puk: "12345678", newPin: "246810", reader: "Reader B" }, "the page's newPin is never used");
});

test("a blank card in a session: the window says so, and unlock sets its PIN in the session", { skip }, async () => {
  const h = harness({ cards: [cardA, blank] });
  await ACTION_HANDLERS.openCardSession(h.ctx, { reader: "Reader C" });
  const result = ACTION_HANDLERS.unlock(h.ctx, { puk: "12345678", session: SESSION });
  const w = await pinWindow(h);
  assert.equal(w.context.holder, "Blank card in Reader C");
  await w.submit({ newPin: "135790" });
  assert.deepEqual(await result, {});
  assert.deepEqual(h.host.sent("unlock")[0].args, { puk: "12345678", newPin: "135790", session: SESSION });
});

test("a wrong PUK ends the unlock at once: the page's PUK is never sent twice", { skip }, async () => {
  const h = harness({ answer: (command) => {
    if (command === "unlock") {
      throw hostError("ERR_PUK_INCORRECT", "Wrong PUK.", { retriesLeft: 4 });
    }
    return {};
  } });
  const result = ACTION_HANDLERS.unlock(h.ctx, { puk: "87654321" });
  const failed = result.then(() => null, (e) => e);
  const w = await pinWindow(h);
  await w.submit({ newPin: "246810" });
  await assert.rejects(result, (e) => e.code === "ERR_PUK_INCORRECT" && e.wire.retriesLeft === 4);
  assert.ok(await failed);
  const error = w.port.sent.find((m) => m.type === "error");
  assert.equal(error.final, true);
  assert.match(error.error.message, /4 tries left/);
  assert.equal(h.host.sent("unlock").length, 1);
});

test("unlock needs the PUK from the page; other secrets from the page never reach the host", { skip }, async () => {
  const h = harness();
  await assert.rejects(ACTION_HANDLERS.unlock(h.ctx, {}), (e) => e.code === "ERR_INVALID_REQUEST");
  const result = ACTION_HANDLERS.changePin(h.ctx, { pin: "000000", newPin: "111111", puk: "12345678" });
  const w = await pinWindow(h);
  await w.submit({ pin: "123456", newPin: "654321" });
  await result;
  assert.deepEqual(h.host.sent("change-pin")[0].args, { pin: "123456", newPin: "654321", certificate: AUTH_A });
});

test("one PIN window per card: a renewal's PIN waits for the change-PIN window on the same card", { skip }, async () => {
  const h = harness({ answer: () => ({}) });
  const other = h.page(MANAGE);
  const change = ACTION_HANDLERS.changePin(other, { certificate: AUTH_A });
  const first = await pinWindow(h, 0);
  assert.equal(first.context.kind, "change-pin");
  const opened = await ACTION_HANDLERS.openCardSession(h.ctx, { certificate: AUTH_A });
  assert.equal(opened.reader, "Reader A");
  const verify = ACTION_HANDLERS.cardSessionPin(h.ctx, { session: SESSION, command: "verify-pin", arguments: {} });
  await flush();
  assert.equal(h.chrome.created.length, 1, "no second window for the same card");
  await first.submit({ pin: "123456", newPin: "654321" });
  await change;
  const second = await pinWindow(h, 1);
  assert.equal(second.context.kind, "confirm");
  await second.submit({ pin: "654321" });
  await verify;
});

test("a session the host says has ended is forgotten", { skip }, async () => {
  const h = harness({ answer: (command) => {
    if (command === "write-certificate") {
      throw hostError("ERR_CARD_REMOVED", "The card was removed.");
    }
    return {};
  } });
  await ACTION_HANDLERS.openCardSession(h.ctx, {});
  await assert.rejects(
    ACTION_HANDLERS.cardSession(h.ctx, { session: SESSION, command: "write-certificate", arguments: { slot: "9A", certificate: AUTH_A } }),
    (e) => e.code === "ERR_CARD_REMOVED",
  );
  assert.deepEqual(h.cardSessions.ownedBy(h.ctx.owner), []);
});

test("the signing window shows the site's description and the hash's fingerprint", { skip }, async () => {
  const h = harness({ answer: () => ({ signature: "U0lH" }) });
  const hash = Buffer.from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex").toString("base64");
  const result = ACTION_HANDLERS.sign(h.page(LOGIN), { hash, hashFunction: "SHA-256", certificate: SIGN_A, description: "Prescription 123 for J. Smith" });
  const w = await pinWindow(h);
  assert.equal(w.context.kind, "sign");
  assert.equal(w.context.origin, LOGIN);
  assert.equal(w.context.description, "Prescription 123 for J. Smith");
  assert.equal(w.context.hashFunction, "SHA-256");
  assert.equal(w.context.fingerprint, "0011 2233 4455 6677");
  await w.submit({ pin: "123456" });
  await result;
  assert.equal(h.host.sent("sign")[0].args.description, undefined, "the description stays in the browser");
  for (const description of ["line one\nline two", "x".repeat(201), "\u202Eevil", ""]) {
    await assert.rejects(
      ACTION_HANDLERS.sign(h.page(LOGIN), { hash, hashFunction: "SHA-256", certificate: SIGN_A, description }),
      (e) => e.code === "ERR_INVALID_REQUEST",
    );
  }
});

test("a card session waiting for its PIN window is kept from idling out, and only then", { skip }, async (t) => {
  t.mock.timers.enable({ apis: ["setInterval"] });
  const h = harness();
  await ACTION_HANDLERS.openCardSession(h.ctx, {});
  const result = ACTION_HANDLERS.cardSessionPin(h.ctx, { session: SESSION, command: "verify-pin", arguments: {} });
  const w = await pinWindow(h);
  const before = h.host.sent("pin-status").length;
  t.mock.timers.tick(45_000);
  await flush();
  assert.equal(h.host.sent("pin-status").length, before + 2, "two keep-alives in 45 s");
  assert.deepEqual(h.host.sent("pin-status").at(-1).args, { session: SESSION });
  await w.submit({ pin: "123456" });
  await result;
  t.mock.timers.tick(60_000);
  await flush();
  assert.equal(h.host.sent("pin-status").length, before + 2, "none once the window is done");
});

test("while a card session holds the card, other requests are told it is busy, not to insert it", { skip }, async () => {
  const held = { reader: "Reader A", atr: "3B88", application: null };
  const h = harness({ cards: [held] });
  h.cardSessions.add(SESSION, h.page().owner, { origin: MANAGE, reader: "Reader A" });
  const NONCE = "A".repeat(43) + "=";
  await assert.rejects(ACTION_HANDLERS.authenticate(h.page(LOGIN), { challengeNonce: NONCE }), (e) => e.code === "ERR_CARD_BUSY");
  await assert.rejects(ACTION_HANDLERS.changePin(h.ctx, {}), (e) => e.code === "ERR_CARD_BUSY");
  await assert.rejects(ACTION_HANDLERS.unlock(h.ctx, { puk: "12345678", reader: "Reader A" }), (e) => e.code === "ERR_CARD_BUSY");
  // Without a session of ours on it, an unreadable card is still "no card".
  h.cardSessions.clear();
  await assert.rejects(ACTION_HANDLERS.changePin(h.ctx, {}), (e) => e.code === "ERR_NO_CARD");
  assert.equal(h.chrome.created.length, 0);
});

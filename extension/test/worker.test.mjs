// The service worker itself (background.js) against a fake chrome and a scripted native host:
// the origin gate every page action passes, and a card session closed when its page goes.
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { WASM_BUILT, event, until } from "./fakes.mjs";
import { DEFAULT_LOGIN_ORIGINS, DEFAULT_CARD_MANAGEMENT_ORIGINS } from "../src/shared/origins.js";

const skip = !WASM_BUILT && "run ./build first";
const EXT_ID = "pggklkelfcagmclfcaejdknbclgpeaco";
const MANAGE = DEFAULT_CARD_MANAGEMENT_ORIGINS[0];
const LOGIN = DEFAULT_LOGIN_ORIGINS[0];
const SESSION = "s-00112233445566aa";
const CARD = { reader: "Reader A", atr: "3B88", application: "PIV", pinRetriesLeft: 3, pinBlocked: false, certificates: [{ slot: "9A", certificate: "QUFBQS05QQ==" }] };

/** Every frame the worker sent the host. */
const toHost = [];
let chrome;

function fakeChrome() {
  const fake = {
    runtime: {
      id: EXT_ID,
      getURL: (path) => `chrome-extension://${EXT_ID}/${path}`,
      onConnect: event(),
      onMessage: event(),
      connectNative: () => {
        const port = { onMessage: event(), onDisconnect: event(), disconnect() {} };
        port.postMessage = (frame) => {
          toHost.push(frame);
          const result = {
            cards: { cards: [CARD] },
            "session-open": { session: SESSION, reader: "Reader A", cardId: null, pendingRenewal: [] },
          }[frame.command] || {};
          setImmediate(() => port.onMessage.fire({ id: frame.id, result }));
        };
        return port;
      },
    },
    storage: { managed: { get: async () => ({}) }, onChanged: event() },
    // Installed by policy or the store: no developer mode, so only the built-in lists are served.
    management: { getSelf: async () => ({ installType: "normal" }) },
    windows: { onRemoved: event(), create: async () => ({ id: 1 }), remove: async () => {} },
  };
  return fake;
}

before(async () => {
  chrome = fakeChrome();
  globalThis.chrome = chrome;
  if (WASM_BUILT) {
    await import("../src/background/background.js");
  }
});

let tabs = 0;
/** A content script's port from a top-level page of `origin`. */
function page(origin) {
  tabs += 1;
  const port = {
    name: "carecard-content",
    sender: { id: EXT_ID, tab: { id: tabs }, frameId: 0, origin, url: `${origin}/` },
    onMessage: event(),
    onDisconnect: event(),
    replies: [],
    disconnect() {},
  };
  port.postMessage = (m) => port.replies.push(m);
  chrome.runtime.onConnect.fire(port);
  let n = 0;
  port.ask = async (action, args = {}) => {
    n += 1;
    const requestId = `r${n}`;
    port.onMessage.fire({ type: "request", requestId, action, arguments: args });
    await until(() => port.replies.some((r) => r.requestId === requestId), `an answer to ${action}`);
    return port.replies.find((r) => r.requestId === requestId);
  };
  return port;
}

test("a login origin is refused every card-management action before anything reaches the host", { skip }, async () => {
  const login = page(LOGIN);
  const asks = {
    cards: {},
    changePin: {},
    unlock: { puk: "12345678" },
    openCardSession: {},
    cardSession: { session: SESSION, command: "generate-key", arguments: { slot: "9A", algorithm: "P256" } },
    cardSessionPin: { session: SESSION, command: "prove-possession", arguments: { slot: "9A", challenge: "AAAAAAAAAAAAAAAAAAAAAA==" } },
  };
  for (const [action, args] of Object.entries(asks)) {
    const reply = await login.ask(action, args);
    assert.equal(reply.error && reply.error.code, "ERR_ORIGIN_NOT_ALLOWED", action);
  }
  assert.deepEqual(toHost, [], "the host heard nothing");
  // The same page may still use what login pages use.
  assert.deepEqual((await login.ask("status")).result, {});
  assert.equal(toHost.at(-1).command, "status");
});

test("localhost is no card-management origin without developer mode", { skip }, async () => {
  const local = page("http://localhost:8443");
  assert.equal((await local.ask("cards")).error.code, "ERR_ORIGIN_NOT_ALLOWED");
});

test("the card-management origin is served, and its card session is closed when the page goes", { skip }, async () => {
  const manage = page(MANAGE);
  assert.deepEqual((await manage.ask("cards")).result, { cards: [CARD] });
  const opened = await manage.ask("openCardSession", { reader: "Reader A" });
  assert.equal(opened.result.session, SESSION);
  const relayed = await manage.ask("cardSession", { session: SESSION, command: "put-data", arguments: { object: "CHUID", data: "AAEC" } });
  assert.deepEqual(relayed.result, {});
  assert.deepEqual(toHost.at(-1).arguments, { session: SESSION, object: "CHUID", data: "AAEC" });
  // Another tab of the same site cannot use it.
  const other = page(MANAGE);
  assert.equal((await other.ask("cardSession", { session: SESSION, command: "session-close" })).error.code, "ERR_TIMEOUT");
  const sent = toHost.length;
  manage.onDisconnect.fire();
  await until(() => toHost.length > sent, "session-close");
  assert.deepEqual({ command: toHost.at(-1).command, arguments: toHost.at(-1).arguments }, { command: "session-close", arguments: { session: SESSION } });
});

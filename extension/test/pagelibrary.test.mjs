// The page library's wait for the extension (extension/page/carecard.js), with a fake window and
// node's mock timers: 5 s of silence means no extension, a "wait" from the content script (the
// browser is still loading the enterprise policy) stretches that once to 30 s.
import { test, mock } from "node:test";
import assert from "node:assert/strict";

const posted = [];
let listener = null;
globalThis.window = {
  isSecureContext: true,
  location: { origin: "https://am.nhsidentity.spineservices.nhs.uk" },
  addEventListener: (type, fn) => {
    if (type === "message") listener = fn;
  },
  postMessage: (message) => posted.push(message),
};

mock.timers.enable({ apis: ["setTimeout"] });
const carecard = await import("../page/carecard.js");

/** The content script's message to the page. */
function fromExtension(message) {
  listener({ source: globalThis.window, data: { carecard: 1, source: "carecard-extension", ...message } });
}

/** Lets promise callbacks run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

async function outcome(promise) {
  return promise.then(() => "resolved", (e) => e.code);
}

test("no answer to the ping within 5 s: ERR_EXTENSION_UNAVAILABLE", async () => {
  posted.length = 0;
  const call = outcome(carecard.status());
  await settle();
  assert.equal(posted[0].type, "ping");
  mock.timers.tick(5000);
  assert.equal(await call, "ERR_EXTENSION_UNAVAILABLE");
});

test("a 'wait' keeps the ping alive past 5 s, and the pong then lets the call through", async () => {
  posted.length = 0;
  const call = carecard.status();
  await settle();
  const ping = posted.find((m) => m.type === "ping");
  fromExtension({ type: "wait", requestId: ping.requestId });
  mock.timers.tick(20_000);
  await settle();
  fromExtension({ type: "pong", requestId: ping.requestId });
  await settle();
  const request = posted.find((m) => m.type === "request");
  assert.ok(request, "the request followed the late pong");
  fromExtension({ type: "response", requestId: request.requestId, result: { readers: [] } });
  assert.deepEqual(await call, { readers: [] });
});

test("a 'wait' is honoured once and only up to 30 s", async () => {
  // A fresh ping: the previous test's success is remembered, so load a new copy of the library.
  posted.length = 0;
  const fresh = await import(`../page/carecard.js?fresh=${Date.now()}`);
  let settled = false;
  const call = outcome(fresh.status()).finally(() => {
    settled = true;
  });
  await settle();
  const ping = posted.find((m) => m.type === "ping");
  fromExtension({ type: "wait", requestId: ping.requestId });
  mock.timers.tick(29_000);
  await settle();
  assert.equal(settled, false, "still waiting 29 s in, after a 'wait'");
  fromExtension({ type: "wait", requestId: ping.requestId });
  mock.timers.tick(1_000);
  assert.equal(await call, "ERR_EXTENSION_UNAVAILABLE", "a second 'wait' does not stretch it again");
});

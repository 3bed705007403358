import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { isPageMessage, parseActionRequest, stripPageSecrets, ACTIONS } from "../src/shared/messages.js";

const good = { carecard: 1, source: "carecard-page", type: "request", requestId: "cc1-abc", action: "status" };

test("page message shape", () => {
  assert.ok(isPageMessage(good));
  assert.ok(isPageMessage({ ...good, type: "ping" }));
  assert.ok(!isPageMessage({ ...good, carecard: 2 }));
  assert.ok(!isPageMessage({ ...good, carecard: "1" }));
  assert.ok(!isPageMessage({ ...good, source: "carecard-extension" }), "our own replies are not requests");
  assert.ok(!isPageMessage({ ...good, type: "response" }));
  assert.ok(!isPageMessage({ ...good, requestId: "" }));
  assert.ok(!isPageMessage({ ...good, requestId: "x".repeat(65) }));
  assert.ok(!isPageMessage({ ...good, requestId: "a b" }));
  assert.ok(!isPageMessage(null));
  assert.ok(!isPageMessage("carecard"));
});

test("action requests", () => {
  assert.deepEqual(parseActionRequest({ type: "request", requestId: "r1", action: "authenticate", arguments: { challengeNonce: "n" } }),
    { requestId: "r1", action: "authenticate", arguments: { challengeNonce: "n" } });
  assert.deepEqual(parseActionRequest({ type: "request", requestId: "r1", action: "status" }).arguments, {});
  assert.equal(parseActionRequest({ type: "request", requestId: "r1", action: "toString" }).error.code, "ERR_UNKNOWN_COMMAND");
  assert.equal(parseActionRequest({ type: "request", requestId: "r1", action: "watch" }).error.code, "ERR_UNKNOWN_COMMAND");
  assert.equal(parseActionRequest({ type: "request", requestId: "r1", action: "status", arguments: [] }).error.code, "ERR_INVALID_REQUEST");
  assert.equal(parseActionRequest({ type: "request", requestId: "r1", action: "status", arguments: "x" }).error.code, "ERR_INVALID_REQUEST");
  assert.equal(parseActionRequest({ type: "request", requestId: "r 1", action: "status" }).error.code, "ERR_INVALID_REQUEST");
  assert.equal(parseActionRequest({ type: "request", requestId: "r1", action: "sign", arguments: { hash: "A".repeat(60000) } }).error.code, "ERR_MESSAGE_TOO_LARGE");
  assert.equal(parseActionRequest(null).error.code, "ERR_INVALID_REQUEST");
});

test("page-supplied secrets are removed", () => {
  assert.deepEqual(stripPageSecrets({ challengeNonce: "n", pin: "1234", newPin: "123456", puk: "12345678" }, false), { challengeNonce: "n" });
  assert.deepEqual(stripPageSecrets({ puk: "12345678", pin: "1" }, true), { puk: "12345678" });
});

test("every page action has a kind", () => {
  for (const kind of Object.values(ACTIONS)) {
    assert.ok(["query", "pin", "session", "events"].includes(kind));
  }
});

/** Runs content.js in a fake page whose worker answers the hello with `verdict` (a function of the call count). */
function loadContentScript(verdict = () => ({ served: true })) {
  const source = readFileSync(new URL("../src/content/content.js", import.meta.url), "utf8");
  const posted = [];
  const forwarded = [];
  const hellos = [];
  let listener;
  const window = {
    location: { origin: "https://example.org" },
    addEventListener: (type, fn) => { listener = fn; },
    postMessage: (message, target) => posted.push({ message, target }),
  };
  const chrome = {
    runtime: {
      lastError: undefined,
      connect: () => ({
        postMessage: (m) => forwarded.push(m),
        onMessage: { addListener() {} },
        onDisconnect: { addListener() {} },
      }),
      sendMessage: (message, callback) => {
        hellos.push(message);
        const reply = verdict(hellos.length);
        setTimeout(() => {
          if (reply instanceof Error) {
            chrome.runtime.lastError = { message: reply.message };
            callback(undefined);
            chrome.runtime.lastError = undefined;
          } else {
            callback(reply);
          }
        }, 0);
      },
    },
  };
  vm.runInNewContext(source, { window, chrome, setTimeout });
  const send = async (data, source = window) => {
    listener({ source, data });
    await new Promise((r) => setTimeout(r, 5));
  };
  return { window, posted, forwarded, hellos, send };
}

test("the content script's copy of the shape check agrees with the shared one", async () => {
  const { window, posted, forwarded, send } = loadContentScript();
  const samples = [good, { ...good, type: "ping" }, { ...good, carecard: 2 }, { ...good, requestId: "a b" }, { ...good, source: "x" }, null];
  for (const data of samples) {
    posted.length = 0;
    forwarded.length = 0;
    await send(data);
    assert.equal(posted.length + forwarded.length > 0, isPageMessage(data), JSON.stringify(data));
  }
  posted.length = 0;
  await send({ ...good, type: "ping" }, {});
  assert.equal(posted.length, 0, "messages from other windows are ignored");
  await send({ ...good, type: "ping" }, window);
  assert.deepEqual(JSON.parse(JSON.stringify(posted[0])), { message: { carecard: 1, source: "carecard-extension", type: "pong", requestId: "cc1-abc" }, target: "https://example.org" });
});

test("on an origin the worker does not serve the content script never answers nor relays", async () => {
  const { posted, forwarded, hellos, send } = loadContentScript(() => ({ served: false }));
  assert.equal(hellos.length, 0, "nothing is asked before the page speaks (no worker wake-up on every page)");
  await send({ ...good, type: "ping" });
  await send(good);
  await send({ ...good, type: "ping", requestId: "cc2" });
  assert.deepEqual(posted, [], "no pong, no error: the page cannot tell carecard is installed");
  assert.deepEqual(forwarded, []);
  assert.deepEqual(hellos.map((h) => h.type), ["carecard-hello"], "asked once per document");
});

test("an allowed origin: asked once, then pings and requests flow in order", async () => {
  const { posted, forwarded, hellos, send } = loadContentScript(() => ({ served: true }));
  await send({ ...good, type: "ping" });
  await send(good);
  await send({ ...good, requestId: "cc2" });
  assert.equal(hellos.length, 1);
  assert.equal(posted.length, 1);
  assert.equal(posted[0].message.type, "pong");
  assert.deepEqual(forwarded.map((m) => m.requestId), ["cc1-abc", "cc2"]);
});

test("a worker that cannot answer the hello means silence, and the next message asks again", async () => {
  const { posted, hellos, send } = loadContentScript((n) => (n === 1 ? new Error("Could not establish connection.") : { served: true }));
  await send({ ...good, type: "ping" });
  assert.equal(posted.length, 0);
  await send({ ...good, type: "ping" });
  assert.equal(hellos.length, 2);
  assert.equal(posted.length, 1);
});

test("a 'no' that is not final (the worker has not read the policy yet) is asked again; the page's messages wait", async () => {
  const replies = [{ served: false, final: false }, { served: false, final: false }, { served: true, final: true }];
  const { posted, forwarded, hellos, send } = loadContentScript((n) => replies[n - 1]);
  await send({ ...good, type: "ping" });
  await send(good);
  assert.equal(posted.length, 0, "nothing answered before the final verdict");
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(hellos.length, 3);
  assert.deepEqual(posted.map((p) => p.message.type), ["pong"]);
  assert.deepEqual(forwarded.map((m) => m.requestId), ["cc1-abc"]);
});

test("a final 'no' after provisional ones keeps the page unanswered", async () => {
  const replies = [{ served: false, final: false }, { served: false, final: true }];
  const { posted, forwarded, hellos, send } = loadContentScript((n) => replies[n - 1]);
  await send({ ...good, type: "ping" });
  await new Promise((r) => setTimeout(r, 500));
  await send({ ...good, type: "ping", requestId: "cc2" });
  assert.equal(hellos.length, 2);
  assert.deepEqual(posted, []);
  assert.deepEqual(forwarded, []);
});

test("while the policy loads, a built-in CIS2 origin's ping is told to wait once, then answered", async () => {
  const replies = [{ served: false, final: false, builtIn: true }, { served: false, final: false, builtIn: true }, { served: true, final: true }];
  const { posted, send } = loadContentScript((n) => replies[n - 1]);
  await send({ ...good, type: "ping" });
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(posted.map((p) => p.message.type), ["wait"], "one 'wait', before any verdict");
  assert.equal(posted[0].message.requestId, "cc1-abc");
  await new Promise((r) => setTimeout(r, 700));
  assert.deepEqual(posted.map((p) => p.message.type), ["wait", "pong"]);
});

test("while the policy loads, an origin off the built-in lists hears nothing, not even 'wait'", async () => {
  const replies = [{ served: false, final: false, builtIn: false }, { served: false, final: true }];
  const { posted, send } = loadContentScript((n) => replies[n - 1]);
  await send({ ...good, type: "ping" });
  await new Promise((r) => setTimeout(r, 500));
  await send({ ...good, type: "ping", requestId: "cc2" });
  assert.deepEqual(posted, []);
});

test("a built-in origin the policy then leaves out: told to wait, then silence for good", async () => {
  const replies = [{ served: false, final: false, builtIn: true }, { served: false, final: true }];
  const { posted, send } = loadContentScript((n) => replies[n - 1]);
  await send({ ...good, type: "ping" });
  await new Promise((r) => setTimeout(r, 500));
  await send({ ...good, type: "ping", requestId: "cc2" });
  await send(good);
  assert.deepEqual(posted.map((p) => [p.message.type, p.message.requestId]), [["wait", "cc1-abc"]]);
});

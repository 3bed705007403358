// NativeHost against a fake chrome.runtime: ids, replies, events, disconnects and reopening.
import { test } from "node:test";
import assert from "node:assert/strict";
import { NativeHost, HOST_NAME } from "../src/background/native.js";

function event() {
  const listeners = [];
  return { addListener: (fn) => listeners.push(fn), fire: (...a) => listeners.forEach((fn) => fn(...a)) };
}

function fakeRuntime() {
  const runtime = { ports: [], lastError: undefined };
  runtime.connectNative = (name) => {
    assert.equal(name, HOST_NAME);
    const port = { sent: [], onMessage: event(), onDisconnect: event(), postMessage: (m) => port.sent.push(m) };
    runtime.ports.push(port);
    return port;
  };
  return runtime;
}

test("requests get ids and settle with their own reply", async () => {
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const a = host.request("status", {});
  const b = host.request("certificates", {});
  assert.equal(runtime.ports.length, 1, "one port for all requests");
  const [ra, rb] = runtime.ports[0].sent;
  assert.deepEqual(ra, { id: 1, command: "status", arguments: {} });
  assert.equal(rb.id, 2);
  runtime.ports[0].onMessage.fire({ id: 2, error: { code: "ERR_NO_CARD", message: "Insert your card" } });
  runtime.ports[0].onMessage.fire({ id: 1, result: { version: "0.1.0" } });
  assert.deepEqual(await a, { version: "0.1.0" });
  await assert.rejects(b, (e) => e.code === "ERR_NO_CARD" && e.wire.message === "Insert your card");
});

test("wrong-PIN errors keep retriesLeft", async () => {
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const p = host.request("authenticate", {});
  runtime.ports[0].onMessage.fire({ id: 1, error: { code: "ERR_PIN_INCORRECT", message: "Wrong PIN", retriesLeft: 2 } });
  await assert.rejects(p, (e) => e.code === "ERR_PIN_INCORRECT" && e.wire.retriesLeft === 2);
});

test("events go to listeners, not to requests", async () => {
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const seen = [];
  host.onEvent((e) => seen.push(e.event));
  const p = host.request("watch", {});
  runtime.ports[0].onMessage.fire({ event: "card-removed", reader: "Virtual PCD 00 00" });
  runtime.ports[0].onMessage.fire({ id: 1, result: {} });
  await p;
  assert.deepEqual(seen, ["card-removed"]);
});

test("a missing host fails pending requests with ERR_NATIVE_UNAVAILABLE and the next request reopens", async () => {
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const seen = [];
  host.onEvent((e) => seen.push(e.event));
  const p = host.request("status", {});
  runtime.lastError = { message: "Specified native messaging host not found." };
  runtime.ports[0].onDisconnect.fire();
  runtime.lastError = undefined;
  await assert.rejects(p, (e) => e.code === "ERR_NATIVE_UNAVAILABLE" && /not found/.test(e.message));
  assert.deepEqual(seen, ["host-disconnected"]);
  assert.equal(host.connected, false);
  const q = host.request("status", {});
  assert.equal(runtime.ports.length, 2);
  runtime.ports[1].onMessage.fire({ id: runtime.ports[1].sent[0].id, result: { version: "x" } });
  assert.deepEqual(await q, { version: "x" });
});

test("a reply without an id fails the oldest request instead of letting it hang", async () => {
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const p = host.request("status", {});
  runtime.ports[0].onMessage.fire({ id: null, error: { code: "ERR_INVALID_REQUEST", message: "bad" } });
  await assert.rejects(p, (e) => e.code === "ERR_INVALID_REQUEST");
});

test("no answer in time gives ERR_TIMEOUT", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const p = host.request("status", {});
  t.mock.timers.tick(15_001);
  await assert.rejects(p, (e) => e.code === "ERR_TIMEOUT");
  // A late reply for the timed-out id is ignored.
  runtime.ports[0].onMessage.fire({ id: 1, result: {} });
});

test("a host slower than the worker's timeout: ERR_TIMEOUT, the late reply is dropped, the next request works", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const runtime = fakeRuntime();
  const host = new NativeHost(runtime);
  const slow = host.request("authenticate", { origin: "https://a.example" });
  t.mock.timers.tick(59_999);
  let settled = false;
  slow.catch(() => {}).finally(() => { settled = true; });
  await Promise.resolve();
  assert.equal(settled, false, "authenticate has 60 s");
  t.mock.timers.tick(2);
  await assert.rejects(slow, (e) => e.code === "ERR_TIMEOUT" && e.wire.code === "ERR_TIMEOUT");
  // The next request goes out on the same port (the host is alive, only slow) with a new id.
  const next = host.request("status", {});
  assert.equal(runtime.ports.length, 1, "a timeout does not drop the port");
  const nextId = runtime.ports[0].sent[1].id;
  assert.notEqual(nextId, 1);
  // The late answer to the timed-out request arrives first: it must not settle the new request.
  runtime.ports[0].onMessage.fire({ id: 1, result: { unverifiedCertificate: "late" } });
  runtime.ports[0].onMessage.fire({ id: 1, error: { code: "ERR_PIN_INCORRECT", message: "late", retriesLeft: 2 } });
  assert.equal(host.pending.size, 1, "only the new request is pending");
  runtime.ports[0].onMessage.fire({ id: nextId, result: { version: "0.1.0" } });
  assert.deepEqual(await next, { version: "0.1.0" });
  assert.equal(host.pending.size, 0);
});

/** Whether `promise` has settled after `ms` more of mock time. */
async function settledAfter(t, promise, ms) {
  let settled = false;
  promise.catch(() => {}).finally(() => { settled = true; });
  t.mock.timers.tick(ms);
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

test("prove-possession may generate two keys: 120 s; on a PIN-pad reader the typing time is added", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const host = new NativeHost(fakeRuntime());
  const cases = [
    ["prove-possession", {}, 120_000],
    ["prove-possession", { pinEntry: "reader" }, 220_000],
    ["change-pin", { pinEntry: "reader" }, 160_000],
    ["authenticate", { pinEntry: "reader" }, 105_000],
    ["verify-pin", { pinEntry: "reader" }, 75_000],
    ["authenticate", { pinEntry: "window" }, 60_000],
  ];
  for (const [command, args, ms] of cases) {
    const p = host.request(command, args);
    assert.equal(await settledAfter(t, p, ms - 1), false, `${command} ${JSON.stringify(args)} still waits`);
    assert.equal(await settledAfter(t, p, 2), true, `${command} ${JSON.stringify(args)} times out after ${ms} ms`);
    await assert.rejects(p, (e) => e.code === "ERR_TIMEOUT");
  }
});

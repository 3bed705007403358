// Test doubles shared by the worker's unit tests (no tests here): a fake chrome for PinWindows,
// the PIN page's port, a scripted native host, and the real protocol module (wasm) when built.
import { existsSync, readFileSync } from "node:fs";
import { loadWasmSync } from "../src/background/wasm.js";

const WASM = new URL("../wasm/carecard_protocol_bg.wasm", import.meta.url);
/** Whether ./build has made the wasm module (tests that validate through it skip otherwise). */
export const WASM_BUILT = existsSync(WASM);
if (WASM_BUILT) {
  loadWasmSync(readFileSync(WASM));
}

export function event() {
  const listeners = [];
  return { addListener: (fn) => listeners.push(fn), fire: (...a) => listeners.forEach((fn) => fn(...a)) };
}

export function fakeChrome() {
  const chrome = { created: [], removed: [], nextWindowId: 100 };
  chrome.runtime = { getURL: (path) => `chrome-extension://test-id/${path}` };
  chrome.windows = {
    onRemoved: event(),
    create: async (options) => {
      const win = { id: chrome.nextWindowId++, url: options.url, height: options.height };
      chrome.created.push(win);
      return win;
    },
    remove: async (id) => {
      chrome.removed.push(id);
    },
  };
  return chrome;
}

/** The PIN page of the window `win` connecting its port, as pin.js does. */
export function connectWindow(chrome, pins, win) {
  const port = {
    sender: { url: win.url },
    sent: [],
    onMessage: event(),
    onDisconnect: event(),
    postMessage: (m) => port.sent.push(m),
    disconnect: () => {},
  };
  pins.attach(port);
  return port;
}

export const flush = async (rounds = 50) => {
  for (let i = 0; i < rounds; i += 1) {
    await new Promise((resolve) => setImmediate(resolve));
  }
};

/** Waits (in event-loop turns) until `predicate()` holds; fails after a while. */
export async function until(predicate, what = "condition") {
  for (let i = 0; i < 500; i += 1) {
    if (predicate()) {
      return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A native host answering with `answer(command, args)` (return a result, or throw a wire error
 * object `{code, message, retriesLeft?}`). Records every request.
 */
export function scriptedHost(answer) {
  const host = {
    requests: [],
    async request(command, args = {}) {
      host.requests.push({ command, args: JSON.parse(JSON.stringify(args)) });
      return answer(command, args);
    },
    sent: (command) => host.requests.filter((r) => r.command === command),
  };
  return host;
}

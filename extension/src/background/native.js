// The one connectNative port to carecard-host: request ids, pending map with per-request
// timeouts, events to listeners, and reopening on the next request after a disconnect.

import { ExtensionError, wireError } from "../shared/errors.js";

export const HOST_NAME = "org.carecard.host";

const TIMEOUTS_MS = {
  status: 15_000,
  certificates: 30_000,
  "pin-status": 30_000,
  watch: 15_000,
  // Card signatures (RSA-2048 on old cards) and PIN changes can take a few seconds.
  authenticate: 60_000,
  sign: 60_000,
  "change-pin": 60_000,
  unlock: 60_000,
  cards: 30_000,
  // Card management (INTERFACES.md "Card contract v2"): an old card takes up to a minute to
  // generate an RSA-2048 key; the other steps are one or two APDUs.
  "session-open": 30_000,
  "session-close": 15_000,
  "verify-pin": 30_000,
  "management-authenticate": 30_000,
  "generate-key": 120_000,
  // With `proofs` it may generate two keys (and sign with each) in the one request.
  "prove-possession": 120_000,
  "write-certificate": 30_000,
  "put-data": 30_000,
};

/**
 * Added for `"pinEntry": "reader"`: the person types on the reader's PIN pad while the request
 * waits. The reader gives up after 30 s per key stage; a PIN change has three stages (current,
 * new, new again) and a proof of possession may verify twice (again before the PIN-always 9C key),
 * the others one stage. The card's own work keeps the command's time above.
 */
const READER_ENTRY_MS = {
  "change-pin": 100_000,
  "prove-possession": 100_000,
};
const READER_ENTRY_DEFAULT_MS = 45_000;

/** How long to wait for the host's answer to `command` with `args`. */
export function timeoutFor(command, args) {
  const base = TIMEOUTS_MS[command] ?? 30_000;
  if (args && args.pinEntry === "reader") {
    return base + (READER_ENTRY_MS[command] ?? READER_ENTRY_DEFAULT_MS);
  }
  return base;
}

function unavailable(detail) {
  return wireError(
    "ERR_NATIVE_UNAVAILABLE",
    "The carecard helper program is not installed or could not start. Install carecard or ask your service desk." +
      (detail ? ` (${detail})` : ""),
  );
}

export class NativeHost {
  constructor(runtime) {
    this.runtime = runtime;
    this.port = null;
    this.nextId = 1;
    this.pending = new Map();
    this.eventListeners = new Set();
  }

  /** Sends one command; resolves with `result`, rejects with an ExtensionError. */
  request(command, args = {}) {
    const port = this.ensurePort();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ExtensionError("ERR_TIMEOUT", "The smartcard helper did not answer in time."));
      }, timeoutFor(command, args));
      this.pending.set(id, { resolve, reject, timer });
      try {
        port.postMessage({ id, command, arguments: args });
      } catch (e) {
        this.settle(id, { error: unavailable(e && e.message) });
      }
    });
  }

  onEvent(listener) {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  get connected() {
    return this.port !== null;
  }

  ensurePort() {
    if (this.port) {
      return this.port;
    }
    const port = this.runtime.connectNative(HOST_NAME);
    this.port = port;
    port.onMessage.addListener((message) => this.handleMessage(message));
    port.onDisconnect.addListener(() => this.handleDisconnect(port));
    return port;
  }

  handleMessage(message) {
    if (!message || typeof message !== "object") {
      return;
    }
    if (typeof message.event === "string") {
      for (const listener of this.eventListeners) {
        listener(message);
      }
      return;
    }
    if (Number.isInteger(message.id)) {
      this.settle(message.id, message);
    } else if (message.id === null && message.error) {
      // The host could not read an id: fail the oldest request so nothing hangs until its timeout.
      const oldest = this.pending.keys().next();
      if (!oldest.done) {
        this.settle(oldest.value, message);
      }
    }
  }

  settle(id, message) {
    const entry = this.pending.get(id);
    if (!entry) {
      return;
    }
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (message.error) {
      const e = message.error;
      entry.reject(new ExtensionError(e.code, e.message, e));
    } else {
      entry.resolve(message.result ?? {});
    }
  }

  handleDisconnect(port) {
    // lastError must be read here or Chrome logs "Unchecked runtime.lastError".
    const detail = this.runtime.lastError && this.runtime.lastError.message;
    if (this.port !== port) {
      return;
    }
    this.port = null;
    const error = unavailable(detail);
    for (const id of [...this.pending.keys()]) {
      this.settle(id, { error });
    }
    for (const listener of this.eventListeners) {
      listener({ event: "host-disconnected", message: error.message });
    }
  }
}

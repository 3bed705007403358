// carecard page library: smartcard login and signing for CIS2 pages through the carecard
// browser extension. Dependency-free ES module. The PIN is never seen by the page.

const TAG = 1;
const PAGE_SOURCE = "carecard-page";
const EXTENSION_SOURCE = "carecard-extension";
// The extension answers only once its worker has the enterprise policy, which takes about 2 s
// right after the browser starts (a login page opened as the home page).
const PING_TIMEOUT_MS = 5000;
const QUERY_TIMEOUT_MS = 90_000;
// The user has 2 minutes per PIN entry and may retry after a wrong PIN.
const PIN_TIMEOUT_MS = 10 * 60_000;

const KINDS = {
  status: "query",
  getCertificates: "query",
  authenticate: "pin",
  sign: "pin",
  changePin: "pin",
  unlock: "pin",
  subscribe: "events",
  unsubscribe: "events",
};

/** An error with a stable `code` (DESIGN.md codes, ERR_EXTENSION_UNAVAILABLE, ERR_NATIVE_UNAVAILABLE). */
export class CarecardError extends Error {
  constructor(code, message, extra = {}) {
    super(message || code);
    this.name = "CarecardError";
    this.code = code;
    if (Number.isInteger(extra.retriesLeft)) {
      this.retriesLeft = extra.retriesLeft;
    }
    if (typeof extra.statusWord === "string") {
      this.statusWord = extra.statusWord;
    }
  }
}

const pending = new Map();
const busyKinds = new Set();
const cardListeners = new Set();
let extensionPresent = null;
let counter = 0;

function newRequestId() {
  counter += 1;
  const random = new Uint32Array(2);
  crypto.getRandomValues(random);
  return `cc${counter}-${random[0].toString(36)}${random[1].toString(36)}`;
}

function post(message) {
  window.postMessage({ carecard: TAG, source: PAGE_SOURCE, ...message }, window.location.origin);
}

function onMessage(event) {
  const data = event.data;
  if (event.source !== window || !data || data.carecard !== TAG || data.source !== EXTENSION_SOURCE) {
    return;
  }
  if (data.type === "event") {
    if (data.event && typeof data.event.event === "string") {
      for (const listener of [...cardListeners]) {
        try {
          listener(data.event);
        } catch (e) {
          setTimeout(() => {
            throw e;
          });
        }
      }
    }
    return;
  }
  const entry = pending.get(data.requestId);
  if (!entry) {
    return;
  }
  if (data.type === "pong" || data.type === "response") {
    pending.delete(data.requestId);
    clearTimeout(entry.timer);
    if (data.error) {
      entry.reject(new CarecardError(data.error.code || "ERR_INTERNAL", data.error.message, data.error));
    } else {
      entry.resolve(data.result);
    }
  }
}

if (typeof window !== "undefined") {
  window.addEventListener("message", onMessage);
}

function exchange(message, timeoutMs, timeoutError) {
  const requestId = newRequestId();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(requestId);
      reject(timeoutError());
    }, timeoutMs);
    pending.set(requestId, { resolve, reject, timer });
    post({ ...message, requestId });
  });
}

async function ensureExtension() {
  if (!window.isSecureContext) {
    throw new CarecardError("ERR_ORIGIN_NOT_ALLOWED", "carecard works only on https pages (or http://localhost).");
  }
  if (extensionPresent === null) {
    extensionPresent = exchange({ type: "ping" }, PING_TIMEOUT_MS, () =>
      new CarecardError("ERR_EXTENSION_UNAVAILABLE", "The carecard browser extension is not installed or not enabled."),
    ).then(
      () => true,
      (e) => {
        extensionPresent = null;
        throw e;
      },
    );
  }
  return extensionPresent;
}

async function call(action, args) {
  await ensureExtension();
  const kind = KINDS[action];
  if (busyKinds.has(kind)) {
    throw new CarecardError("ERR_CARD_BUSY", `Another carecard ${kind === "pin" ? "PIN request" : "request"} from this page is still running.`);
  }
  busyKinds.add(kind);
  try {
    return await exchange(
      { type: "request", action, arguments: args },
      kind === "pin" ? PIN_TIMEOUT_MS : QUERY_TIMEOUT_MS,
      () => new CarecardError("ERR_TIMEOUT", "The carecard extension did not answer in time."),
    );
  } finally {
    busyKinds.delete(kind);
  }
}

/** Host status: `{version, protocol, pcsc, readers: [{name, card}]}`. */
export function status() {
  return call("status", {});
}

/** Certificates on inserted cards: `{certificates: [{reader, slot, certificate}]}`. */
export function getCertificates() {
  return call("getCertificates", {});
}

/** Web eID 1.0 authentication token for the server's `challengeNonce`; the user enters the PIN in the extension. */
export function authenticate({ challengeNonce, certificate } = {}) {
  const args = { challengeNonce };
  if (certificate !== undefined) {
    args.certificate = certificate;
  }
  return call("authenticate", args);
}

/** Signs a base64 `hash` with the card holding `certificate`: `{signature, signatureAlgorithm}`. */
export function sign({ hash, hashFunction, certificate } = {}) {
  return call("sign", { hash, hashFunction, certificate });
}

/** Card management origins only: change the PIN (both PINs are typed in the extension window). */
export function changePin() {
  return call("changePin", {});
}

/** Card management origins only: unlock with the PUK from the service; the new PIN is typed in the extension window. */
export function unlock({ puk } = {}) {
  return call("unlock", { puk });
}

/**
 * Calls `callback(event)` for card and reader events (`card-inserted`, `card-removed`, `reader-added`,
 * `reader-removed`, `pcsc-unavailable`, `host-disconnected`). Returns a function that unsubscribes.
 * Subscription errors are reported through the optional `onError`.
 */
/** The page's subscription to card events: resolves true once events flow. */
let subscription = Promise.resolve(false);

export function onCardEvent(callback, onError) {
  if (typeof callback !== "function") {
    throw new TypeError("onCardEvent needs a function");
  }
  const first = cardListeners.size === 0;
  cardListeners.add(callback);
  if (first) {
    // true once the host watches the readers; false (and onError) when it cannot.
    subscription = call("subscribe", {}).then(
      () => true,
      (e) => {
        cardListeners.delete(callback);
        if (typeof onError === "function") {
          onError(e);
        }
        return false;
      },
    );
  }
  const unsubscribe = () => {
    if (cardListeners.delete(callback) && cardListeners.size === 0) {
      call("unsubscribe", {}).catch(() => {});
    }
  };
  // Events only flow once this resolves to true: a page that must not miss a removal (a
  // logged-in session) waits for it, then checks status() once for anything that came before.
  unsubscribe.ready = subscription;
  return unsubscribe;
}

export default { status, getCertificates, authenticate, sign, changePin, unlock, onCardEvent, CarecardError };

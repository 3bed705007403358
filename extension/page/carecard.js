// carecard page library: smartcard login and signing for CIS2 pages through the carecard
// browser extension. Dependency-free ES module. The PIN is never seen by the page.

const TAG = 1;
const PAGE_SOURCE = "carecard-page";
const EXTENSION_SOURCE = "carecard-extension";
// The extension answers only once its worker has the enterprise policy. Right after the browser
// starts Chrome holds the managed storage for 2–6 s (a login page opened as the home page): then
// the content script says "wait" on a built-in CIS2 origin and the ping may take up to 30 s (the
// content script's own patience). Elsewhere silence means no extension after 5 s.
const PING_TIMEOUT_MS = 5000;
const STARTUP_PING_TIMEOUT_MS = 30_000;
const QUERY_TIMEOUT_MS = 90_000;
// The user has 2 minutes per PIN entry and may retry after a wrong PIN.
const PIN_TIMEOUT_MS = 10 * 60_000;
// A card-session step: generating an RSA-2048 key on an old card takes up to two minutes.
const SESSION_TIMEOUT_MS = 150_000;
const TIMEOUTS_MS = { pin: PIN_TIMEOUT_MS, session: SESSION_TIMEOUT_MS };

const KINDS = {
  status: "query",
  getCertificates: "query",
  authenticate: "pin",
  sign: "pin",
  changePin: "pin",
  unlock: "pin",
  cards: "query",
  openCardSession: "session",
  cardSession: "session",
  cardSessionPin: "pin",
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
  if (data.type === "wait" && entry.ping && !entry.waited) {
    // The extension is there but still reading the enterprise policy: allow it the longer time, once.
    entry.waited = true;
    clearTimeout(entry.timer);
    entry.timer = setTimeout(entry.expire, STARTUP_PING_TIMEOUT_MS);
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
    const expire = () => {
      pending.delete(requestId);
      reject(timeoutError());
    };
    const timer = setTimeout(expire, timeoutMs);
    pending.set(requestId, { resolve, reject, timer, expire, ping: message.type === "ping", waited: false });
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
    const what = { pin: "PIN request", session: "card-session step" }[kind] || "request";
    throw new CarecardError("ERR_CARD_BUSY", `Another carecard ${what} from this page is still running.`);
  }
  busyKinds.add(kind);
  try {
    return await exchange(
      { type: "request", action, arguments: args },
      TIMEOUTS_MS[kind] || QUERY_TIMEOUT_MS,
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

/**
 * Signs a base64 `hash` with the card holding `certificate`: `{signature, signatureAlgorithm}`.
 * `description` (optional, plain text, at most 200 characters) is shown in the PIN window, in
 * quotes, as this site's words about what is being signed.
 */
export function sign({ hash, hashFunction, certificate, description } = {}) {
  const args = { hash, hashFunction, certificate };
  if (description !== undefined) {
    args.description = description;
  }
  return call("sign", args);
}

/** At most one of `certificate`, `reader` (and, where allowed, `session`), passed on as given. */
function selector(options, allowSession) {
  const names = allowSession ? ["certificate", "reader", "session"] : ["certificate", "reader"];
  const args = {};
  for (const name of names) {
    if (options && options[name] !== undefined) {
      args[name] = options[name];
    }
  }
  return args;
}

// ---- Card management: served only to the policy's card-management origins (docs/INTERFACES.md,
// "Page API for card management"); other origins get ERR_ORIGIN_NOT_ALLOWED.

/** Every inserted card: `{cards: [{reader, atr, certificates, pinRetriesLeft, pukRetriesLeft, cardId, pendingRenewal, ...}]}`. */
export function cards() {
  return call("cards", {});
}

/** Change the PIN of the named card (or the only one): both PINs are typed in the extension window. */
export function changePin(options = {}) {
  return call("changePin", selector(options, true));
}

/** Unlock with the PUK from the service (or set a new card's PIN); the new PIN is typed in the extension window. */
export function unlock(options = {}) {
  return call("unlock", { puk: options.puk, ...selector(options, true) });
}

/**
 * Opens the card session of a multi-step flow (renewal, RA issue or repair) on the named card:
 * `{session, reader, cardId, pendingRenewal}`. The session belongs to this page; the extension
 * closes it when the page goes. Close it with `cardSession(session, "session-close")` when done.
 */
export function openCardSession(options = {}) {
  return call("openCardSession", selector(options, false));
}

/** The session commands that need the PIN: the extension asks it in its window. */
const PIN_SESSION_COMMANDS = ["prove-possession", "verify-pin"];

/**
 * One step in the card session: `management-authenticate`, `generate-key`, `write-certificate`,
 * `put-data`, `session-close`, or (PIN window, with an optional `purpose` "renew" | "issue" |
 * "repair") `prove-possession` and `verify-pin`. Resolves with the host's result for the command.
 */
export function cardSession(session, command, args = {}) {
  const request = { session, command, arguments: args };
  return PIN_SESSION_COMMANDS.includes(command) ? call("cardSessionPin", request) : call("cardSession", request);
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

export default {
  status, getCertificates, authenticate, sign, changePin, unlock, onCardEvent, CarecardError,
  cards, openCardSession, cardSession,
};

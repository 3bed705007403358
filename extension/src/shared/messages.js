// Shapes of the messages between the page library, the content script and the worker.
// Pure functions: unit-tested under node. The content script keeps a copy of
// isPageMessage (content scripts cannot be ES modules); test/messages.test.mjs checks both agree.

export const PROTOCOL_TAG = 1;
export const PAGE_SOURCE = "carecard-page";
export const EXTENSION_SOURCE = "carecard-extension";

/** Page actions and the kind used for "one pending action of each kind". */
export const ACTIONS = Object.freeze({
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
});

const PAGE_TYPES = new Set(["ping", "request"]);
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_ARGUMENT_BYTES = 48 * 1024;

/** Whether a window message came from the page library (shape only; the source window is checked by the caller). */
export function isPageMessage(data) {
  return (
    data !== null &&
    typeof data === "object" &&
    data.carecard === PROTOCOL_TAG &&
    data.source === PAGE_SOURCE &&
    PAGE_TYPES.has(data.type) &&
    typeof data.requestId === "string" &&
    REQUEST_ID.test(data.requestId)
  );
}

/**
 * Checks a request the content script forwarded to the worker. Returns `{action, arguments}`
 * or an error object. Arguments must be a plain JSON object of limited size.
 */
export function parseActionRequest(message) {
  if (!message || typeof message !== "object" || message.type !== "request") {
    return { error: { code: "ERR_INVALID_REQUEST", message: "Malformed request." } };
  }
  if (typeof message.requestId !== "string" || !REQUEST_ID.test(message.requestId)) {
    return { error: { code: "ERR_INVALID_REQUEST", message: "Malformed request id." } };
  }
  if (typeof message.action !== "string" || !Object.hasOwn(ACTIONS, message.action)) {
    return { error: { code: "ERR_UNKNOWN_COMMAND", message: "Unknown carecard action." } };
  }
  const args = message.arguments === undefined ? {} : message.arguments;
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return { error: { code: "ERR_INVALID_REQUEST", message: "Arguments must be an object." } };
  }
  let text;
  try {
    text = JSON.stringify(args);
  } catch {
    return { error: { code: "ERR_INVALID_REQUEST", message: "Arguments must be JSON." } };
  }
  if (text.length > MAX_ARGUMENT_BYTES) {
    return { error: { code: "ERR_MESSAGE_TOO_LARGE", message: "Arguments are too large." } };
  }
  return { requestId: message.requestId, action: message.action, arguments: JSON.parse(text) };
}

/** Removes secrets a page must never supply (the PIN window adds them); keeps `puk` only when allowed. */
export function stripPageSecrets(args, keepPuk) {
  const copy = { ...args };
  delete copy.pin;
  delete copy.newPin;
  if (!keepPuk) {
    delete copy.puk;
  }
  return copy;
}

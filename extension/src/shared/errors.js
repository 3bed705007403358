// Error codes of DESIGN.md plus the two only the extension and the page library use.
export const ERROR_CODES = Object.freeze([
  "ERR_INVALID_REQUEST", "ERR_MESSAGE_TOO_LARGE", "ERR_UNKNOWN_COMMAND", "ERR_ORIGIN_NOT_ALLOWED",
  "ERR_PCSC_UNAVAILABLE", "ERR_NO_READER", "ERR_NO_CARD", "ERR_CARD_REMOVED", "ERR_CARD_BUSY",
  "ERR_UNSUPPORTED_CARD", "ERR_CERTIFICATE_NOT_FOUND", "ERR_PIN_FORMAT", "ERR_PIN_INCORRECT",
  "ERR_PIN_BLOCKED", "ERR_PUK_INCORRECT", "ERR_PUK_BLOCKED", "ERR_USER_CANCELLED", "ERR_TIMEOUT",
  "ERR_CARD_ERROR", "ERR_INTERNAL", "ERR_EXTENSION_UNAVAILABLE", "ERR_NATIVE_UNAVAILABLE",
]);

const KNOWN = new Set(ERROR_CODES);

/** A plain, structured-cloneable error object `{code, message, retriesLeft?, statusWord?}`. */
export function wireError(code, message, extra = {}) {
  const error = { code: KNOWN.has(code) ? code : "ERR_INTERNAL", message: String(message || code) };
  if (Number.isInteger(extra.retriesLeft)) {
    error.retriesLeft = extra.retriesLeft;
  }
  if (typeof extra.statusWord === "string") {
    error.statusWord = extra.statusWord;
  }
  return error;
}

/** Any thrown value (wasm ProtocolError, Error, host error object) as a wire error. */
export function toWireError(value) {
  if (value && typeof value === "object" && typeof value.code === "string") {
    return wireError(value.code, value.message, value);
  }
  return wireError("ERR_INTERNAL", value instanceof Error ? value.message : "Unexpected failure in the extension.");
}

/** An Error subclass carrying a wire error, for `throw` inside the worker. */
export class ExtensionError extends Error {
  constructor(code, message, extra = {}) {
    super(message);
    this.wire = wireError(code, message, extra);
    this.code = this.wire.code;
  }
}

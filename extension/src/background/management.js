// Card management (docs/INTERFACES.md "Page API for card management"): which host commands a
// card-management page may relay inside its card session, the fixed purposes a PIN window may
// name, and which page owns which card session.

import { ExtensionError } from "../shared/errors.js";

/** Session commands relayed as they are (no PIN). */
export const SESSION_RELAY_COMMANDS = Object.freeze([
  "management-authenticate",
  "generate-key",
  "write-certificate",
  "put-data",
  "session-close",
]);

/** Session commands that need the PIN: the extension opens its window and inserts the PIN. */
export const SESSION_PIN_COMMANDS = Object.freeze(["prove-possession", "verify-pin"]);

/**
 * The host's card-management commands (`is_management_command` in host/protocol/src/command.rs;
 * test/drift.test.mjs ties the two): served only to card-management origins.
 */
export const MANAGEMENT_COMMANDS = Object.freeze(["session-open", ...SESSION_RELAY_COMMANDS, ...SESSION_PIN_COMMANDS]);

/**
 * What a confirm-with-PIN window says it is for. The page picks one of these names; the words are
 * the extension's, so a page cannot put its own text in the window's title.
 */
export const PURPOSES = Object.freeze({
  renew: "Renew your smartcard certificates",
  issue: "Set up this card",
  repair: "Repair this card",
});

/** The purpose text for a page's `purpose` (default "renew"); anything else is ERR_INVALID_REQUEST. */
export function purposeText(purpose) {
  if (purpose === undefined || purpose === null) {
    return PURPOSES.renew;
  }
  if (typeof purpose !== "string" || !Object.hasOwn(PURPOSES, purpose)) {
    throw new ExtensionError("ERR_INVALID_REQUEST", `purpose must be one of ${Object.keys(PURPOSES).join(", ")}.`);
  }
  return PURPOSES[purpose];
}

/**
 * `{session, command, arguments}` of a `cardSession` / `cardSessionPin` page request, checked for
 * shape, with `command` one of `allowed`. The command's own arguments are validated later (wasm).
 */
export function parseSessionRequest(pageArgs, allowed) {
  const { session, command } = pageArgs || {};
  const args = pageArgs && pageArgs.arguments !== undefined ? pageArgs.arguments : {};
  if (typeof session !== "string" || session === "") {
    throw new ExtensionError("ERR_INVALID_REQUEST", "cardSession needs the session id openCardSession returned.");
  }
  if (typeof command !== "string" || !allowed.includes(command)) {
    throw new ExtensionError("ERR_UNKNOWN_COMMAND", `Not a card-session command here: ${String(command).slice(0, 40)}.`);
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new ExtensionError("ERR_INVALID_REQUEST", "cardSession arguments must be an object.");
  }
  return { session, command, arguments: args };
}

/** The error for a session this page does not hold: the same words as the host's for an ended one. */
function notOpen() {
  return new ExtensionError("ERR_TIMEOUT", "The card session ended; start again.");
}

/**
 * Card sessions the worker opened for pages: id → `{owner, origin, reader, certificate, card}`.
 * `owner` is the page's content-port state (one per document), so a session is usable only by
 * the document that opened it and is closed when that document goes.
 */
export class CardSessions {
  constructor() {
    this.byId = new Map();
  }

  add(id, owner, info) {
    this.byId.set(id, { ...info, owner });
  }

  /** The session's record if `owner` opened it, else ERR_TIMEOUT (as the host answers an ended session). */
  get(id, owner) {
    const entry = this.byId.get(id);
    if (!entry || entry.owner !== owner) {
      throw notOpen();
    }
    return entry;
  }

  forget(id) {
    this.byId.delete(id);
  }

  /** Ids of the sessions `owner` holds. */
  ownedBy(owner) {
    return [...this.byId].filter(([, entry]) => entry.owner === owner).map(([id]) => id);
  }

  /** Readers whose card a session holds. */
  readers() {
    return new Set([...this.byId.values()].map((entry) => entry.reader).filter(Boolean));
  }

  /** The host went away: every session ended with it. */
  clear() {
    this.byId.clear();
  }
}

/** Whether a host error means the session is over (ended, timed out, card gone). */
export function endsSession(code) {
  return code === "ERR_TIMEOUT" || code === "ERR_CARD_REMOVED" || code === "ERR_NATIVE_UNAVAILABLE";
}

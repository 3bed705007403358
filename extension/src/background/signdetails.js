// What a signing PIN window shows besides the site: the page's own description of what is signed
// (checked plain text, shown in quotes as the site's words) and the hash's fingerprint, so the
// user can tell one signing request from another (docs/INTERFACES.md "Page API for card management").

import { ExtensionError } from "../shared/errors.js";

export const MAX_DESCRIPTION = 200;
// Control characters, line and paragraph separators, bidirectional overrides and isolates: text
// that could hide or reorder what the window shows.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;

/** `{description?, hashFunction, fingerprint}` for the window from the page's `sign` arguments. */
export function signDetails(pageArgs) {
  const args = pageArgs || {};
  const details = { hashFunction: typeof args.hashFunction === "string" ? args.hashFunction : "", fingerprint: fingerprint(args.hash) };
  if (args.description !== undefined) {
    const text = args.description;
    if (typeof text !== "string" || text.trim() === "" || text.length > MAX_DESCRIPTION || UNSAFE.test(text)) {
      throw new ExtensionError(
        "ERR_INVALID_REQUEST",
        `description must be plain text of 1 to ${MAX_DESCRIPTION} characters on one line.`,
      );
    }
    details.description = text.trim();
  }
  return details;
}

/** The first 8 bytes of a base64 hash in hex, in groups of two bytes ("" when unreadable). */
export function fingerprint(hash) {
  if (typeof hash !== "string") {
    return "";
  }
  let bytes;
  try {
    bytes = atob(hash);
  } catch {
    return "";
  }
  const hex = [...bytes.slice(0, 8)].map((c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  return hex.replace(/(.{4})(?=.)/g, "$1 ");
}

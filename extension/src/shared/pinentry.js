// What the PIN window checks before it sends anything (DESIGN.md "PIN handling"): entered PINs
// are 4–8 characters, a new PIN is 6–8 digits typed twice. Pure: unit-tested under node, used by
// src/pin/pin.js and, for what reaches it, by the worker.

/**
 * Window kinds, which fields each asks for, and whether a reader's PIN pad may take the entry
 * instead (INTERFACES.md "PIN entry on the reader"; `unlock` has no pad mode: its PUK comes from
 * the site and the new PIN is typed in the window).
 */
export const PIN_KINDS = Object.freeze({
  authenticate: { pin: true, newPin: false, reader: true },
  sign: { pin: true, newPin: false, reader: true },
  confirm: { pin: true, newPin: false, reader: true },
  "change-pin": { pin: true, newPin: true, reader: true },
  unlock: { pin: false, newPin: true, reader: false },
});

/** Whether the PIN for a `kind` window is typed on the reader: the card's reader has a pad (`cards`' `pinPad`). */
export function entersOnReader(kind, card) {
  if (!(PIN_KINDS[kind] && PIN_KINDS[kind].reader && card && card.pinPad === true)) {
    return false;
  }
  // A PIN change needs the pad's second feature (MODIFY_PIN_DIRECT); without it the window asks.
  return !PIN_KINDS[kind].newPin || card.pinPadChange === true;
}

const ENTERED = /^[\x20-\x7E]{4,8}$/;
const NEW_PIN = /^[0-9]{6,8}$/;

/** Whether `pin` has the shape of an entered PIN (4–8 printable characters). */
export function isEnteredPin(pin) {
  return typeof pin === "string" && ENTERED.test(pin);
}

/** Whether `pin` may be a new PIN (6–8 digits). */
export function isNewPin(pin) {
  return typeof pin === "string" && NEW_PIN.test(pin);
}

/**
 * Checks the window's fields `{pin, newPin, confirmPin}` for `kind`. Returns null when they may
 * be sent, else the message to show (nothing is sent then).
 */
export function entryProblem(kind, { pin, newPin, confirmPin } = {}) {
  const fields = PIN_KINDS[kind] || PIN_KINDS.authenticate;
  if (fields.pin && !isEnteredPin(pin)) {
    return kind === "change-pin" ? "Your current PIN has 4 to 8 characters." : "The PIN has 4 to 8 characters.";
  }
  if (fields.newPin) {
    if (!isNewPin(newPin)) {
      return "The new PIN must be 6 to 8 digits.";
    }
    if (newPin !== confirmPin) {
      return "The two new PINs are different. Type the new PIN twice.";
    }
    if (kind === "change-pin" && newPin === pin) {
      return "The new PIN must be different from your current PIN.";
    }
  }
  return null;
}

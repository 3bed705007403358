// The PIN window's side of an action: what the window shows (holder, current tries), the entry
// loop (typed in the window or on the reader's PIN pad), and what a failed PIN request means for
// the window and the page. The PIN lives here only for the one host request that carries it.

import { ExtensionError, toWireError } from "../shared/errors.js";
import { PIN_KINDS, entersOnReader, isEnteredPin, isNewPin } from "../shared/pinentry.js";
import { validate, summarise } from "./wasm.js";
import { pickCard, pinRetriesLeft as cardPinRetriesLeft } from "./cardpick.js";

/**
 * PIN-spending host requests (authenticate, sign, change-pin, unlock) sent so far, counted again
 * when each answers: a request whose `cards` answer is older than a change of this count reads
 * the card again before its window shows (another tab's window may have spent or reset tries).
 */
let pinUses = 0;

/** The count above, for a `cards` answer to remember when it was read (`entry.seen`). */
export function pinUseCount() {
  return pinUses;
}

/** Holder name, user ID, retries left, what the window is for and where the PIN is typed. */
async function windowContext(ctx, kind, entry, extra) {
  const summary = entry.certificate ? await summarise(entry.certificate) : null;
  const retriesLeft = await currentRetriesLeft(ctx, entry);
  const name = summary
    ? [summary.givenName, summary.surname].filter(Boolean).join(" ") || summary.commonName
    : "";
  const holder = name || (entry.certificate ? "Unknown card holder" : `Blank card in ${entry.reader}`);
  return {
    ...extra,
    kind,
    origin: ctx.origin,
    holder,
    userId: summary && summary.userId ? summary.userId : "",
    notAfter: summary ? summary.notAfter : null,
    retriesLeft,
    ...(entersOnReader(kind, entry.card) ? { pinEntry: "reader" } : {}),
  };
}

/**
 * Retries left on the entry's card when its turn comes: from the `cards` answer the entry came
 * from, unless a PIN was sent to a card since, then from a fresh `cards` (the same card, found by
 * the chosen certificate, or its reader for a blank card). A card held by a card session answers
 * `pin-status` in the session instead (others cannot read it). A blocked PIN counts as 0.
 */
async function currentRetriesLeft(ctx, entry) {
  if (entry.session) {
    try {
      const { pinRetriesLeft } = await ctx.host.request("pin-status", { session: entry.session });
      return pinRetriesLeft;
    } catch (e) {
      if (e && e.code === "ERR_PIN_BLOCKED") {
        return 0;
      }
      throw e;
    }
  }
  if (entry.seen === pinUses) {
    return cardPinRetriesLeft(entry.card);
  }
  const { cards = [] } = await ctx.host.request("cards", entry.cardsArgs);
  if (entry.certificate) {
    return cardPinRetriesLeft(pickCard(cards, entry.certificate, null).card);
  }
  const card = cards.find((c) => c && c.reader === entry.reader);
  if (!card) {
    throw new ExtensionError("ERR_CARD_REMOVED", "The card was removed.");
  }
  return cardPinRetriesLeft(card);
}

/**
 * Opens the PIN window and runs `command` with what the user typed until it succeeds, the
 * user gives up or the PIN is blocked. A wrong PIN is answered in the same window. `find()`
 * gives the card's entry (a host request: the window may open meanwhile, PinWindows.openFor);
 * `buildArgs(input, entry)` the host arguments. When the card's reader has a PIN pad (`cards`'
 * `pinPad`, and the kind allows it) the PIN is typed there instead: the first request goes to
 * the reader as soon as the window shows what it is for, a later one only when the user presses
 * "Try again" in the window.
 */
export async function withPinWindow(ctx, kind, find, buildArgs, command, extra = {}) {
  const fields = PIN_KINDS[kind];
  // Read once it is this request's turn for the card (another tab's window may change the retries).
  const prepare = async (entry) => {
    const context = await windowContext(ctx, kind, entry, extra);
    if (context.retriesLeft === 0 && kind !== "unlock") {
      throw new ExtensionError("ERR_PIN_BLOCKED", blockedAdvice());
    }
    return context;
  };
  let session = null;
  let keepAlive = null;
  const findEntry = async () => {
    const entry = await find();
    // The host ends a card session after 60 s without a request; the user may take longer to type.
    keepAlive = entry.session ? startKeepAlive(ctx, entry.session) : null;
    return entry;
  };
  try {
    // One PIN window per card across all tabs: a second request waits for its turn (pingate.js).
    const opened = await ctx.pins.openFor(findEntry, prepare, {
      preview: { ...extra, kind, origin: ctx.origin },
      track: (waiting) => {
        session = waiting;
        ctx.track(waiting);
      },
    });
    session = opened.session;
    const entry = opened.entry;
    let onReader = entersOnReader(kind, entry.card);
    for (let turn = 0; ; turn += 1) {
      let input = await session.nextEntry({ automatic: onReader && turn === 0 });
      // The window checked these; a window that sent something else gets the same answer.
      if (!onReader && ((fields.pin && !isEnteredPin(input.pin)) || (fields.newPin && !isNewPin(input.newPin)))) {
        input = null;
        session.showError(entryFormatError(fields), false);
        continue;
      }
      // On the reader the pad takes the PIN: whatever the window sent is not used.
      let args = buildArgs(onReader ? {} : input, entry);
      input = null;
      try {
        const result = await sendWithPin(ctx, session, command, args, onReader);
        session.close();
        return result;
      } catch (e) {
        if (onReader && !fields.newPin && isPadLengthRefusal(e)) {
          // The pad takes 6–8 digits, so a legacy 4–5 character PIN cannot be typed there: this
          // window takes it instead (a PIN change on a pad can also mean the new PINs differ, so
          // it stays on the pad).
          onReader = false;
          session.useFields(PAD_LENGTH_ADVICE);
          continue;
        }
        // Returns only when the user may enter again; never resends a PIN or PUK by itself.
        answerFailure(session, e, onReader);
      } finally {
        // Drop the only reference to the PIN as soon as the host has answered.
        args = null;
      }
    }
  } finally {
    if (keepAlive) {
      clearInterval(keepAlive);
    }
    if (session) {
      ctx.untrack(session);
      // Every path above has closed or failed the session; never leave the card's turn held.
      ctx.pins.gate.release(session);
    }
  }
}

const PAD_LENGTH_ADVICE =
  "The card reader's keypad takes 6 to 8 digits, and your PIN is not one of those. Type your PIN here instead.";

/** The pad refused the PIN's length (ERR_PIN_FORMAT from a request at the reader). */
function isPadLengthRefusal(e) {
  const wire = e instanceof ExtensionError ? e.wire : toWireError(e);
  return wire.code === "ERR_PIN_FORMAT";
}

/**
 * Sends one PIN-carrying request: the PIN the window sent is in `args`, or with `onReader` the
 * reader's pad takes it (no PIN in the request at all).
 */
async function sendWithPin(ctx, session, command, args, onReader) {
  let checked = await validate(command, args, ctx.origin, ctx.policy.developerMode);
  if (onReader) {
    // Validation drops every `pinEntry` (a page's must never count): the worker adds its own,
    // decided from the card's `pinPad`, after it.
    checked = { ...checked, pinEntry: "reader" };
    session.showAtReader();
  } else {
    session.showBusy();
  }
  // Cancel in the window cannot stop the reader's pad: the request still ends with the pad's
  // timeout or the card's answer, and the card's turn is held until then (PinWindows.forget).
  session.atReader = onReader;
  pinUses += 1;
  try {
    return await ctx.host.request(command, checked);
  } finally {
    pinUses += 1;
    session.atReader = false;
    checked = null;
  }
}

/**
 * After a failed PIN request: returns when the user may enter again (a wrong PIN, or one the
 * card or the pad refused as malformed: the window shows it and waits for the user's own new
 * entry or "Try again"); otherwise ends the window and throws what the page gets.
 */
function answerFailure(session, e, onReader) {
  const wire = e instanceof ExtensionError ? e.wire : toWireError(e);
  if (wire.code === "ERR_PIN_INCORRECT" || wire.code === "ERR_PIN_FORMAT") {
    if (session.finished) {
      // The window went (Cancel, closed, page gone) while the card answered: nobody can enter again.
      throw session.finished;
    }
    session.showError(wire, false);
    return;
  }
  // The PUK came from the page, so typing a new PIN again would resend the same wrong PUK:
  // the window says so and the page asks the service again.
  if (wire.code === "ERR_PIN_BLOCKED" || wire.code === "ERR_PUK_BLOCKED" || wire.code === "ERR_PUK_INCORRECT") {
    const blocked = { ...wire, message: finalMessage(wire) };
    session.showError(blocked, true);
    session.close(true);
    throw new ExtensionError(blocked.code, blocked.message, blocked);
  }
  if (onReader && (wire.code === "ERR_TIMEOUT" || wire.code === "ERR_USER_CANCELLED")) {
    // The pad's own timeout or Cancel key: the window ends unanswered (the origin's next window
    // waits a moment, as after Cancel in the window) and the page gets the reader's words.
    session.fail(wire.code, wire.message);
    const error = new ExtensionError(wire.code, wire.message, wire);
    // Not the card session's end (which the host also answers with ERR_TIMEOUT): see inSession.
    error.atReader = true;
    throw error;
  }
  session.close();
  throw e;
}

/** How often a card session waiting for a PIN window is kept from idling out (the host's limit is 60 s). */
export const SESSION_KEEPALIVE_MS = 20_000;

/**
 * Keeps `session` open while its PIN window waits: a `pin-status` in the session every 20 s
 * (no PIN, no card state change). Only while a window the user can see or is queued for is open,
 * so an abandoned page still loses its session after 60 s.
 */
function startKeepAlive(ctx, session) {
  return setInterval(() => {
    ctx.host.request("pin-status", { session }).catch(() => {});
  }, SESSION_KEEPALIVE_MS);
}

function entryFormatError(fields) {
  return {
    code: "ERR_PIN_FORMAT",
    message: fields.newPin ? "The new PIN must be 6 to 8 digits." : "The PIN has 4 to 8 characters.",
  };
}

function finalMessage(wire) {
  if (wire.code === "ERR_PIN_BLOCKED") {
    return blockedAdvice();
  }
  if (wire.code === "ERR_PUK_INCORRECT") {
    const left = Number.isInteger(wire.retriesLeft) ? ` (${wire.retriesLeft} tries left)` : "";
    return `The card did not accept the unlock code from the service${left}. Nothing was changed; start the unlock again on the site.`;
  }
  return wire.message;
}

function blockedAdvice() {
  return (
    "Your smartcard PIN is blocked after too many wrong entries. Unlock it on the CIS2 self-service " +
    "site (manage-care-identities) or ask your Registration Authority (RA)."
  );
}

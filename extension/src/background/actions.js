// What each page action does. `ctx` = {origin, policy, host, pins, signal} where `origin` was
// derived from the sender by the worker and already checked against the allow-list.

import { ExtensionError, toWireError } from "../shared/errors.js";
import { isOriginAllowed } from "../shared/origins.js";
import { stripPageSecrets } from "../shared/messages.js";
import { validate } from "./wasm.js";
import { pickCard } from "./cardpick.js";
import { withPinWindow, pinUseCount } from "./pinflow.js";
import {
  SESSION_RELAY_COMMANDS,
  SESSION_PIN_COMMANDS,
  parseSessionRequest,
  purposeText,
  endsSession,
} from "./management.js";
import { signDetails } from "./signdetails.js";

/** Actions only card-management origins may use (docs/INTERFACES.md "Page API for card management"). */
export const CARD_MANAGEMENT_ACTIONS = new Set([
  "cards",
  "changePin",
  "unlock",
  "openCardSession",
  "cardSession",
  "cardSessionPin",
]);

/** Whether `origin` may run `action` under `policy`. */
export function mayRun(action, origin, policy) {
  const management = isOriginAllowed(origin, policy.cardManagementOrigins, policy.developerMode);
  if (CARD_MANAGEMENT_ACTIONS.has(action)) {
    return management;
  }
  return management || isOriginAllowed(origin, policy.allowedOrigins, policy.developerMode);
}

export const ACTION_HANDLERS = {
  async status(ctx) {
    const args = await validate("status", {}, ctx.origin, ctx.policy.developerMode);
    return ctx.host.request("status", args);
  },

  async getCertificates(ctx) {
    const args = await validate("certificates", {}, ctx.origin, ctx.policy.developerMode);
    return ctx.host.request("certificates", args);
  },

  async authenticate(ctx, pageArgs) {
    const base = await validate("authenticate", stripPageSecrets(pageArgs, false), ctx.origin, ctx.policy.developerMode);
    const find = () => pickCertificate(ctx, base.certificate, "9A");
    // The certificate the window shows is the one the host signs with.
    const build = (input, entry) => ({ ...base, certificate: entry.certificate, pin: input.pin });
    return withPinWindow(ctx, "authenticate", find, build, "authenticate");
  },

  async sign(ctx, pageArgs) {
    // What the window shows: the site's own description (checked text) and the hash's fingerprint.
    const details = signDetails(pageArgs);
    const base = await validate("sign", stripPageSecrets(pageArgs, false), ctx.origin, ctx.policy.developerMode);
    const find = () => pickCertificate(ctx, base.certificate, null);
    return withPinWindow(ctx, "sign", find, (input) => ({ ...base, pin: input.pin }), "sign", details);
  },

  async cards(ctx) {
    const args = await validate("cards", {}, ctx.origin, ctx.policy.developerMode);
    return ctx.host.request("cards", args);
  },

  async changePin(ctx, pageArgs) {
    const base = await validate("change-pin", stripPageSecrets(pageArgs, false), ctx.origin, ctx.policy.developerMode);
    // Name the card the window shows, so the host changes the PIN of that card and no other.
    const build = (input, entry) => ({ ...withoutSelector(base), ...entry.selector, pin: input.pin, newPin: input.newPin });
    return withPinWindow(ctx, "change-pin", () => pickManagedCard(ctx, base), build, "change-pin");
  },

  async unlock(ctx, pageArgs) {
    // The self-service site hands the page this card's PUK (DESIGN.md); the new PIN comes from the window.
    const base = await validate("unlock", stripPageSecrets(pageArgs, true), ctx.origin, ctx.policy.developerMode);
    if (typeof base.puk !== "string") {
      throw new ExtensionError("ERR_INVALID_REQUEST", "unlock needs the card's PUK from the card-management service.");
    }
    // The PUK belongs to one card: spend its tries on the card the window shows, never a guess.
    const build = (input, entry) => ({ ...withoutSelector(base), ...entry.selector, newPin: input.newPin });
    return withPinWindow(ctx, "unlock", () => pickManagedCard(ctx, base), build, "unlock");
  },

  async openCardSession(ctx, pageArgs) {
    const base = await validate("session-open", stripPageSecrets(pageArgs, false), ctx.origin, ctx.policy.developerMode);
    let entry;
    try {
      entry = await pickManagedCard(ctx, base);
    } catch (e) {
      // A card another session (or program) holds exclusively cannot be read, so it looks absent
      // here: the host, which alone resolves cards, answers for the page's own selector instead
      // (ERR_CARD_BUSY then, not a misleading ERR_NO_CARD).
      if (!(e instanceof ExtensionError) || !["ERR_NO_CARD", "ERR_CERTIFICATE_NOT_FOUND"].includes(e.code)) {
        throw e;
      }
      const selector = {};
      for (const name of ["certificate", "reader"]) {
        if (typeof base[name] === "string") {
          selector[name] = base[name];
        }
      }
      entry = { reader: undefined, certificate: base.certificate, card: null, selector };
    }
    const result = await ctx.host.request("session-open", entry.selector);
    const info = { origin: ctx.origin, reader: result.reader || entry.reader, certificate: entry.certificate, card: entry.card };
    if (ctx.isClosed && ctx.isClosed()) {
      // The page went while the card was being opened: do not leave the card held for nobody.
      ctx.host.request("session-close", { session: result.session }).catch(() => {});
      throw new ExtensionError("ERR_USER_CANCELLED", "The page was closed or reloaded.");
    }
    ctx.cardSessions.add(result.session, ctx.owner, info);
    return result;
  },

  async cardSession(ctx, pageArgs) {
    const request = parseSessionRequest(pageArgs, SESSION_RELAY_COMMANDS);
    ctx.cardSessions.get(request.session, ctx.owner);
    const args = await validate(
      request.command,
      { ...stripPageSecrets(request.arguments, false), session: request.session },
      ctx.origin,
      ctx.policy.developerMode,
    );
    const result = await inSession(ctx, request.session, () => ctx.host.request(request.command, args));
    if (request.command === "session-close") {
      ctx.cardSessions.forget(request.session);
    }
    return result;
  },

  async cardSessionPin(ctx, pageArgs) {
    const request = parseSessionRequest(pageArgs, SESSION_PIN_COMMANDS);
    const purpose = purposeText(request.arguments.purpose);
    const info = ctx.cardSessions.get(request.session, ctx.owner);
    const base = await validate(
      request.command,
      { ...stripPageSecrets(request.arguments, false), session: request.session },
      ctx.origin,
      ctx.policy.developerMode,
    );
    const find = async () => sessionEntry(request.session, info);
    return inSession(ctx, request.session, () =>
      withPinWindow(ctx, "confirm", find, (input) => ({ ...base, pin: input.pin }), request.command, { purpose }),
    );
  },
};

/** Runs a request in `session`; an answer saying the session is over forgets it. */
async function inSession(ctx, session, run) {
  try {
    return await run();
  } catch (e) {
    const code = e instanceof ExtensionError ? e.wire.code : toWireError(e).code;
    // A PIN pad's timeout is ERR_TIMEOUT too, but the session goes on (the host says when it ended).
    if (endsSession(code) && !(e && e.atReader)) {
      ctx.cardSessions.forget(session);
    }
    throw e;
  }
}

/** `args` without the card selector the page gave (the extension names the card it showed). */
function withoutSelector(args) {
  const copy = { ...args };
  delete copy.certificate;
  delete copy.reader;
  delete copy.session;
  return copy;
}

/** The window entry of a card session: its card is held by the session, so retries come from `pin-status`. */
function sessionEntry(session, info) {
  return { reader: info.reader, certificate: info.certificate, card: info.card, session, selector: { session } };
}

/**
 * The card a management action works on, by the page's selector (`base` after validation): its
 * open card session, the card holding `certificate`, the card in `reader` (a blank card has no
 * certificate), or without one the only PIV card (several: ERR_INVALID_REQUEST, as the host
 * answers, rather than spend PIN or PUK tries on a guess). Returns the window entry with the
 * `selector` to send the host: the certificate the window shows when the card has one.
 */
async function pickManagedCard(ctx, base) {
  if (typeof base.session === "string") {
    return sessionEntry(base.session, ctx.cardSessions.get(base.session, ctx.owner));
  }
  const cardsArgs = await validate("cards", {}, ctx.origin, ctx.policy.developerMode);
  const seen = pinUseCount();
  const { cards = [] } = await ctx.host.request("cards", cardsArgs);
  return explainUnreadable(ctx, cards, () => chooseManagedCard(cards, base, seen, cardsArgs));
}

function chooseManagedCard(cards, base, seen, cardsArgs) {
  if (typeof base.certificate === "string") {
    const picked = pickCard(cards, base.certificate, null);
    return { ...picked, seen, cardsArgs, selector: { certificate: picked.certificate } };
  }
  let card;
  if (typeof base.reader === "string") {
    card = cards.find((c) => c && c.reader === base.reader);
    if (!card) {
      throw new ExtensionError("ERR_NO_CARD", `There is no card in the reader "${base.reader}".`);
    }
    if (card.application !== "PIV") {
      throw new ExtensionError("ERR_UNSUPPORTED_CARD", "The card in that reader is not a PIV smartcard.");
    }
  } else {
    const piv = cards.filter((c) => c && c.application === "PIV");
    if (piv.length === 0) {
      throw new ExtensionError("ERR_NO_CARD", "Insert your smartcard and try again.");
    }
    if (piv.length > 1) {
      throw new ExtensionError("ERR_INVALID_REQUEST", "Several cards are inserted; choose one.");
    }
    card = piv[0];
  }
  const certificates = Array.isArray(card.certificates) ? card.certificates : [];
  const shown = certificates.find((c) => c.slot === "9A") || certificates[0];
  const certificate = shown ? shown.certificate : undefined;
  const selector = typeof base.reader === "string" || !certificate ? { reader: card.reader } : { certificate };
  return { reader: card.reader, slot: shown ? shown.slot : undefined, certificate, card, seen, cardsArgs, selector };
}

/**
 * The certificate entry to use (the one the page named, else the first in `slot`) with its card,
 * from one `cards` request: the card's PIN state comes in the same answer (cardpick.js).
 */
async function pickCertificate(ctx, wanted, slot) {
  const args = await validate("cards", {}, ctx.origin, ctx.policy.developerMode);
  const seen = pinUseCount();
  const { cards = [] } = await ctx.host.request("cards", args);
  return { ...explainUnreadable(ctx, cards, () => pickCard(cards, wanted, slot)), seen, cardsArgs: args };
}

/**
 * Runs `choose`; when it finds no card while a card is held exclusively (so `cards` cannot read
 * it), the answer is ERR_CARD_BUSY, not "insert your card". The host says so with `held` (a card
 * session of its own or another program's exclusive hold); for an older host without the flag, an
 * unreadable card in the reader of one of this worker's card sessions counts as held.
 */
function explainUnreadable(ctx, cards, choose) {
  try {
    return choose();
  } catch (e) {
    const missing = e instanceof ExtensionError &&
      ["ERR_NO_CARD", "ERR_CERTIFICATE_NOT_FOUND", "ERR_UNSUPPORTED_CARD"].includes(e.code);
    const held = ctx.cardSessions ? ctx.cardSessions.readers() : new Set();
    if (missing && cards.some((c) => c && (c.held === true || (c.application === null && held.has(c.reader))))) {
      throw new ExtensionError(
        "ERR_CARD_BUSY",
        "Your smartcard is busy with a card-management step in another tab or another program. " +
          "Try again when it has finished.",
      );
    }
    throw e;
  }
}

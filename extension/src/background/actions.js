// What each page action does. `ctx` = {origin, policy, host, pins, signal} where `origin` was
// derived from the sender by the worker and already checked against the allow-list.

import { ExtensionError, toWireError } from "../shared/errors.js";
import { isOriginAllowed } from "../shared/origins.js";
import { stripPageSecrets } from "../shared/messages.js";
import { validate, summarise } from "./wasm.js";
import { pickCard, pinRetriesLeft as cardPinRetriesLeft } from "./cardpick.js";

/** Actions only card-management origins may use. */
export const CARD_MANAGEMENT_ACTIONS = new Set(["changePin", "unlock"]);

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
    const entry = await pickCertificate(ctx, base.certificate, "9A");
    const args = { ...base, certificate: entry.certificate };
    return withPinWindow(ctx, "authenticate", entry, (input) => ({ ...args, pin: input.pin }), "authenticate");
  },

  async sign(ctx, pageArgs) {
    const base = await validate("sign", stripPageSecrets(pageArgs, false), ctx.origin, ctx.policy.developerMode);
    const entry = await pickCertificate(ctx, base.certificate, null);
    return withPinWindow(ctx, "sign", entry, (input) => ({ ...base, pin: input.pin }), "sign");
  },

  async changePin(ctx) {
    const base = await validate("change-pin", {}, ctx.origin, ctx.policy.developerMode);
    const entry = await pickCertificate(ctx, undefined, "9A");
    // Name the card the window shows, so the host changes the PIN of that card and no other.
    const args = { ...base, certificate: entry.certificate };
    return withPinWindow(ctx, "change-pin", entry, (input) => ({ ...args, pin: input.pin, newPin: input.newPin }), "change-pin");
  },

  async unlock(ctx, pageArgs) {
    // The self-service site hands the page this card's PUK (DESIGN.md); the new PIN comes from the window.
    const base = await validate("unlock", stripPageSecrets(pageArgs, true), ctx.origin, ctx.policy.developerMode);
    if (typeof base.puk !== "string") {
      throw new ExtensionError("ERR_INVALID_REQUEST", "unlock needs the card's PUK from the card-management service.");
    }
    const entry = await pickCertificate(ctx, undefined, "9A");
    // The PUK belongs to one card: spend its tries on the card the window shows, never a guess.
    const args = { ...base, certificate: entry.certificate };
    return withPinWindow(ctx, "unlock", entry, (input) => ({ ...args, newPin: input.newPin }), "unlock");
  },
};

/**
 * PIN-spending host requests (authenticate, sign, change-pin, unlock) sent so far, counted again
 * when each answers: a request whose `cards` answer is older than a change of this count reads
 * the card again before its window shows (another tab's window may have spent or reset tries).
 */
let pinUses = 0;

/**
 * The certificate entry to use (the one the page named, else the first in `slot`) with its card,
 * from one `cards` request: the card's PIN state comes in the same answer (cardpick.js).
 */
async function pickCertificate(ctx, wanted, slot) {
  const args = await validate("cards", {}, ctx.origin, ctx.policy.developerMode);
  const seen = pinUses;
  const { cards = [] } = await ctx.host.request("cards", args);
  return { ...pickCard(cards, wanted, slot), seen, cardsArgs: args };
}

/** Holder name, user ID and retries left for the window. */
async function windowContext(ctx, kind, entry) {
  const summary = await summarise(entry.certificate);
  const retriesLeft = await currentRetriesLeft(ctx, entry);
  const name = summary
    ? [summary.givenName, summary.surname].filter(Boolean).join(" ") || summary.commonName
    : "";
  return {
    kind,
    origin: ctx.origin,
    holder: name || "Unknown card holder",
    userId: summary && summary.userId ? summary.userId : "",
    notAfter: summary ? summary.notAfter : null,
    retriesLeft,
  };
}

/**
 * Retries left on the entry's card when its turn comes: from the `cards` answer the entry came
 * from, unless a PIN was sent to a card since, then from a fresh `cards` (the same card, found by
 * the chosen certificate). A blocked PIN counts as 0.
 */
async function currentRetriesLeft(ctx, entry) {
  if (entry.seen === pinUses) {
    return cardPinRetriesLeft(entry.card);
  }
  const { cards = [] } = await ctx.host.request("cards", entry.cardsArgs);
  return cardPinRetriesLeft(pickCard(cards, entry.certificate, null).card);
}

/**
 * Opens the PIN window and runs `command` with what the user typed until it succeeds, the
 * user gives up or the PIN is blocked. A wrong PIN is answered in the same window.
 */
async function withPinWindow(ctx, kind, entry, buildArgs, command) {
  // Read once it is this request's turn for the card (another tab's window may change the retries).
  const prepare = async () => {
    const context = await windowContext(ctx, kind, entry);
    if (context.retriesLeft === 0 && kind !== "unlock") {
      throw new ExtensionError("ERR_PIN_BLOCKED", blockedAdvice());
    }
    return context;
  };
  let session = null;
  try {
    // One PIN window per card across all tabs: a second request waits for its turn (pingate.js).
    session = await ctx.pins.open(prepare, {
      card: entry.reader || "card",
      origin: ctx.origin,
      track: (waiting) => {
        session = waiting;
        ctx.track(waiting);
      },
    });
    for (;;) {
      let input = await session.nextEntry();
      let args = buildArgs(input);
      input = null;
      try {
        args = await validate(command, args, ctx.origin, ctx.policy.developerMode);
        session.showBusy();
        pinUses += 1;
        let result;
        try {
          result = await ctx.host.request(command, args);
        } finally {
          pinUses += 1;
        }
        session.close();
        return result;
      } catch (e) {
        const wire = e instanceof ExtensionError ? e.wire : toWireError(e);
        if (wire.code === "ERR_PIN_INCORRECT" || wire.code === "ERR_PIN_FORMAT" || wire.code === "ERR_PUK_INCORRECT") {
          session.showError(wire, false);
          continue;
        }
        if (wire.code === "ERR_PIN_BLOCKED" || wire.code === "ERR_PUK_BLOCKED") {
          const blocked = { ...wire, message: wire.code === "ERR_PIN_BLOCKED" ? blockedAdvice() : wire.message };
          session.showError(blocked, true);
          session.close(true);
          throw new ExtensionError(blocked.code, blocked.message, blocked);
        }
        session.close();
        throw e;
      } finally {
        // Drop the only reference to the PIN as soon as the host has answered.
        args = null;
      }
    }
  } finally {
    if (session) {
      ctx.untrack(session);
      // Every path above has closed or failed the session; never leave the card's turn held.
      ctx.pins.gate.release(session);
    }
  }
}

function blockedAdvice() {
  return (
    "Your smartcard PIN is blocked after too many wrong entries. Unlock it on the CIS2 self-service " +
    "site (manage-care-identities) or ask your Registration Authority (RA)."
  );
}

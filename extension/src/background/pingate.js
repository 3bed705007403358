// Who may show a PIN window now: one window at a time per card, browser-wide (later requests
// wait their turn, first come first served), and a pause for an origin whose last window ended
// unanswered (Cancel, Escape, closed, timed out, page gone) so a page cannot loop windows.
// Timers and the clock are the global ones, so node's mock timers drive the unit tests.

import { ExtensionError } from "../shared/errors.js";

export const COOLDOWN_MS = 2000;
export const MAX_COOLDOWN_MS = 30_000;
/** Unanswered windows closer together than this count as one streak (each doubles the pause). */
export const STREAK_WINDOW_MS = 60_000;
/** Requests that may wait for one card; more is a page (or pages) misbehaving. */
export const MAX_WAITING_PER_CARD = 4;
/**
 * The key of a ticket that holds every card while the host is asked which card it is for
 * (`takeEarly`): a window may open meanwhile, and no other window may open until it is known.
 */
export const ANY_CARD = Symbol("any card");

export class PinGate {
  constructor() {
    /** card → the ticket holding it. */
    this.holders = new Map();
    /** card → tickets waiting for it, oldest first: {ticket, resolve, reject}. */
    this.queues = new Map();
    /** ticket → {timer, resolve, reject} while it sits out its origin's pause. */
    this.sleepers = new Map();
    /** origin → {until, streak, last}. */
    this.cooldowns = new Map();
  }

  /** Milliseconds `origin` must still wait before its next window. */
  cooldownLeft(origin) {
    const entry = this.cooldowns.get(origin);
    return entry ? Math.max(0, entry.until - Date.now()) : 0;
  }

  /** A window for `origin` ended without an answer: pause its next one (2 s, doubling in a streak, ≤ 30 s). */
  noteUnanswered(origin) {
    const now = Date.now();
    const previous = this.cooldowns.get(origin);
    const streak = previous && now - previous.last < STREAK_WINDOW_MS ? previous.streak + 1 : 1;
    const pause = Math.min(COOLDOWN_MS * 2 ** (streak - 1), MAX_COOLDOWN_MS);
    this.cooldowns.set(origin, { until: now + pause, streak, last: now });
  }

  /** Whether `ticket` holds its card now. */
  holds(ticket) {
    return this.holders.get(ticket.card) === ticket;
  }

  /**
   * Resolves once `ticket` ({card, origin, finished?}) may show its window: its origin's pause is
   * over and no other window is open for its card. Rejects when `release(ticket)` is called first
   * (the page went away) or too many requests already wait for the card (ERR_CARD_BUSY).
   */
  async acquire(ticket) {
    const waiting = (this.queues.get(ticket.card) || []).length;
    if (waiting >= MAX_WAITING_PER_CARD) {
      throw new ExtensionError(
        "ERR_CARD_BUSY",
        "Several other requests are already waiting for your smartcard PIN. Answer or cancel those windows, then try again.",
      );
    }
    for (;;) {
      await this.sleep(ticket, this.cooldownLeft(ticket.origin));
      await this.take(ticket);
      if (this.cooldownLeft(ticket.origin) === 0) {
        return;
      }
      // This origin's window was cancelled while we queued: sit the pause out without blocking the card.
      this.release(ticket);
    }
  }

  /**
   * Takes every card for `ticket` ({origin}) at once if nothing holds or waits for any card and
   * its origin has no pause; returns whether it did. The ticket must then `settle` on its card
   * or be released; until then every other request waits, whatever card it is for.
   */
  takeEarly(ticket) {
    if (this.holders.size > 0 || this.queues.size > 0 || this.cooldownLeft(ticket.origin) > 0) {
      return false;
    }
    ticket.card = ANY_CARD;
    this.holders.set(ANY_CARD, ticket);
    return true;
  }

  /** The early ticket now knows its card: it holds that one only, and requests for other cards go on. */
  settle(ticket, card) {
    if (this.holders.get(ANY_CARD) !== ticket) {
      return;
    }
    this.holders.delete(ANY_CARD);
    ticket.card = card;
    this.holders.set(card, ticket);
    this.handOnAll();
  }

  /** Gives up the card, or the place in its queue or pause (the waiting acquire rejects). Idempotent. */
  release(ticket) {
    const sleeper = this.sleepers.get(ticket);
    if (sleeper) {
      this.sleepers.delete(ticket);
      clearTimeout(sleeper.timer);
      sleeper.reject(cancelled(ticket));
    }
    const queue = this.queues.get(ticket.card);
    const index = queue ? queue.findIndex((w) => w.ticket === ticket) : -1;
    if (index >= 0) {
      const [waiter] = queue.splice(index, 1);
      if (queue.length === 0) {
        this.queues.delete(ticket.card);
      }
      waiter.reject(cancelled(ticket));
    }
    if (this.holders.get(ticket.card) === ticket) {
      this.holders.delete(ticket.card);
      if (ticket.card === ANY_CARD) {
        this.handOnAll();
      } else {
        this.handOn(ticket.card);
      }
    }
  }

  sleep(ticket, ms) {
    if (ms <= 0) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(ticket);
        resolve();
      }, ms);
      this.sleepers.set(ticket, { timer, resolve, reject });
    });
  }

  take(ticket) {
    if (!this.holders.has(ticket.card) && !this.holders.has(ANY_CARD)) {
      this.holders.set(ticket.card, ticket);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(ticket.card) || [];
      queue.push({ ticket, resolve, reject });
      this.queues.set(ticket.card, queue);
    });
  }

  /** Every card nobody holds goes to the first request waiting for it. */
  handOnAll() {
    for (const card of [...this.queues.keys()]) {
      if (!this.holders.has(card)) {
        this.handOn(card);
      }
    }
  }

  handOn(card) {
    const queue = this.queues.get(card);
    if (!queue || queue.length === 0 || this.holders.has(ANY_CARD)) {
      return;
    }
    const next = queue.shift();
    if (queue.length === 0) {
      this.queues.delete(card);
    }
    this.holders.set(card, next.ticket);
    next.resolve();
  }
}

function cancelled(ticket) {
  return ticket.finished || new ExtensionError("ERR_USER_CANCELLED", "The request was cancelled while it waited for the smartcard.");
}

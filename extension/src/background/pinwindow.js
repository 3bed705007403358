// The PIN window: an extension page in its own popup window. The PIN travels window → worker
// → host only; the worker keeps it only for the one host request that needs it.

import { ExtensionError } from "../shared/errors.js";
import { PinGate } from "./pingate.js";

export const PIN_PAGE = "pin.html";
export const PIN_PORT_NAME = "carecard-pin";
const ANSWER_TIMEOUT_MS = 120_000;
const WIDTH = 420;
const HEIGHT = 360;
/** Windows with more to show: two new-PIN fields, the purpose line, or what is signed. */
const TALL_KINDS = new Set(["change-pin", "unlock", "confirm", "sign"]);
const TALL_HEIGHT = 480;

export class PinWindows {
  constructor(chromeApi) {
    this.chrome = chromeApi;
    this.sessions = new Map();
    /** One window per card at a time, and a pause after an unanswered one (pingate.js). */
    this.gate = new PinGate();
    chromeApi.windows.onRemoved.addListener((windowId) => {
      for (const session of this.sessions.values()) {
        if (session.windowId === windowId) {
          session.fail("ERR_USER_CANCELLED", "The PIN window was closed.");
        }
      }
    });
  }

  /**
   * Opens a window once it is this request's turn and returns its session. `context` is the
   * window's `{kind, origin, holder, userId, retriesLeft}`, or an async function giving it, called
   * when the turn comes (so the retries shown are current; it may throw to give up). Options:
   * `card` names the card (one window per card, browser-wide), `origin` the asking origin (for the
   * pause after an unanswered window), `track(session)` is called at once so the caller can
   * cancel (`session.fail`) while the request still waits.
   */
  async open(context, { card = "card", origin, track } = {}) {
    const id = crypto.randomUUID();
    const session = new PinSession(this, id, typeof context === "function" ? null : context);
    session.card = card;
    session.origin = origin !== undefined ? origin : context && context.origin;
    if (track) {
      track(session);
    }
    try {
      await this.gate.acquire(session);
      if (typeof context === "function") {
        session.context = await context();
      }
      if (session.finished) {
        throw session.finished;
      }
    } catch (e) {
      this.gate.release(session);
      throw e;
    }
    this.sessions.set(id, session);
    const url = this.chrome.runtime.getURL(`${PIN_PAGE}?session=${encodeURIComponent(id)}`);
    try {
      const height = session.context && TALL_KINDS.has(session.context.kind) ? TALL_HEIGHT : HEIGHT;
      const win = await this.chrome.windows.create({ url, type: "popup", width: WIDTH, height, focused: true });
      session.windowId = win.id;
    } catch (e) {
      this.sessions.delete(id);
      this.gate.release(session);
      throw new ExtensionError("ERR_INTERNAL", `Could not open the PIN window: ${e && e.message}`);
    }
    return session;
  }

  /** A PIN page connected: bind it to its session (only extension pages reach here). */
  attach(port) {
    const expected = this.chrome.runtime.getURL(PIN_PAGE);
    const senderUrl = port.sender && port.sender.url;
    if (typeof senderUrl !== "string" || !senderUrl.startsWith(expected)) {
      port.disconnect();
      return;
    }
    const sessionId = new URL(senderUrl).searchParams.get("session");
    const session = this.sessions.get(sessionId);
    if (!session || session.port) {
      port.disconnect();
      return;
    }
    session.bind(port);
  }

  forget(session, delayMs = 0) {
    this.sessions.delete(session.id);
    this.gate.release(session);
    if (session.windowId !== undefined) {
      const remove = () => this.chrome.windows.remove(session.windowId).catch(() => {});
      if (delayMs > 0) {
        setTimeout(remove, delayMs);
      } else {
        remove();
      }
    }
  }
}

class PinSession {
  constructor(owner, id, context) {
    this.owner = owner;
    this.id = id;
    this.context = context;
    this.port = null;
    this.waiter = null;
    this.finished = null;
    this.timer = null;
    this.windowId = undefined;
    /** The card (reader) and origin this window is for; see PinWindows.open. */
    this.card = "card";
    this.origin = undefined;
  }

  bind(port) {
    this.port = port;
    port.onMessage.addListener((message) => this.handle(message));
    port.onDisconnect.addListener(() => this.fail("ERR_USER_CANCELLED", "The PIN window was closed."));
    port.postMessage({ type: "context", context: this.context });
    if (this.waiter) {
      // The worker was already waiting when the window finished loading.
      port.postMessage({ type: "ready" });
    }
  }

  handle(message) {
    if (!message || typeof message !== "object") {
      return;
    }
    if (message.type === "cancel") {
      // The window closes itself once the key press that cancelled is over; removing it is the fallback.
      this.fail("ERR_USER_CANCELLED", "The user cancelled the PIN entry.", 1000);
    } else if (message.type === "submit" && this.waiter) {
      const entry = {
        pin: typeof message.pin === "string" ? message.pin : "",
        newPin: typeof message.newPin === "string" ? message.newPin : undefined,
      };
      const waiter = this.waiter;
      this.waiter = null;
      clearTimeout(this.timer);
      waiter.resolve(entry);
    }
  }

  /** Waits for the user's next entry ({pin, newPin?}); rejects on cancel, close or 2 minutes of silence. */
  nextEntry() {
    if (this.finished) {
      return Promise.reject(this.finished);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.timer = setTimeout(() => this.fail("ERR_TIMEOUT", "No PIN was entered within 2 minutes."), ANSWER_TIMEOUT_MS);
      if (this.port) {
        this.port.postMessage({ type: "ready" });
      }
    });
  }

  /** Shows the host's answer ({code, message, retriesLeft}) in the window. */
  showError(wire, final = false) {
    if (this.port) {
      this.port.postMessage({ type: "error", error: wire, final });
    }
  }

  /** Shows "working…" while the card is busy. */
  showBusy() {
    if (this.port) {
      this.port.postMessage({ type: "busy" });
    }
  }

  /** Ends the session; the window closes unless `keepOpen` (e.g. to show a blocked-PIN notice). */
  close(keepOpen = false) {
    this.finished = this.finished || new ExtensionError("ERR_USER_CANCELLED", "The PIN window was closed.");
    clearTimeout(this.timer);
    if (keepOpen) {
      this.owner.sessions.delete(this.id);
      this.owner.gate.release(this);
      return;
    }
    if (this.port) {
      this.port.postMessage({ type: "done" });
    }
    this.owner.forget(this);
  }

  fail(code, message, closeDelayMs = 0) {
    if (this.finished) {
      return;
    }
    this.finished = new ExtensionError(code, message);
    clearTimeout(this.timer);
    if ((code === "ERR_USER_CANCELLED" || code === "ERR_TIMEOUT") && this.windowId !== undefined) {
      // A window was shown and not answered: this origin's next one waits a moment (no loop of windows).
      this.owner.gate.noteUnanswered(this.origin);
    }
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = null;
      waiter.reject(this.finished);
    }
    this.owner.forget(this, closeDelayMs);
  }
}

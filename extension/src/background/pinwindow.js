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
    /**
     * Whether the last request found its card and read it (`openFor`): only then does the next one
     * open its window before the card is known, so a page calling in a loop with no card (or a
     * blocked one) does not flash a window each time.
     */
    this.cardLooksUsable = false;
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
    const session = this.newSession(typeof context === "function" ? null : context, origin, track);
    session.card = card;
    await this.openInTurn(session, context);
    return session;
  }

  /**
   * Opens the window of a request whose card is not known yet and returns `{session, entry}`.
   * `find()` gives the entry (its `reader` names the card; it may throw, e.g. ERR_NO_CARD), and
   * `prepare(entry)` the window's context as in `open`; `preview` is the part of the context known
   * before the card (`{kind, origin, …}`: what is signed, a confirm window's purpose). When no window is open or waiting
   * anywhere, the origin has no pause and the last request found its card, the window opens at
   * once while the card is read (it says who asks and "Reading your card…", its field stays off
   * until the context is there); otherwise the card is read first and the request waits its turn
   * as in `open`. Either way the retries shown are read once the card's turn has come.
   */
  async openFor(find, prepare, { preview, track } = {}) {
    const session = this.newSession(null, preview.origin, track);
    session.preview = preview;
    if (this.cardLooksUsable && this.gate.takeEarly(session)) {
      return this.openEarly(session, find, prepare);
    }
    let entry;
    try {
      entry = await find();
      session.card = cardOf(entry);
      await this.openInTurn(session, () => prepare(entry));
      this.cardLooksUsable = true;
    } catch (e) {
      this.cardLooksUsable = false;
      throw e;
    }
    return { session, entry };
  }

  newSession(context, origin, track) {
    const session = new PinSession(this, crypto.randomUUID(), context);
    session.origin = origin !== undefined ? origin : context && context.origin;
    if (track) {
      track(session);
    }
    return session;
  }

  /** The window shows at once; the card is found and read meanwhile (see openFor). */
  async openEarly(session, find, prepare) {
    this.sessions.set(session.id, session);
    const shown = this.show(session);
    // A failure below removes the window; its own failure is reported there, not twice.
    shown.catch(() => {});
    try {
      const entry = await find();
      this.gate.settle(session, cardOf(entry));
      if (session.finished) {
        throw session.finished;
      }
      session.setContext(await prepare(entry));
      if (session.finished) {
        throw session.finished;
      }
      await shown;
      this.cardLooksUsable = true;
      return { session, entry };
    } catch (e) {
      this.cardLooksUsable = false;
      // Not the user's doing (no card, blocked PIN…): the window goes without counting as unanswered.
      session.finished = session.finished || e;
      this.forget(session);
      throw e;
    }
  }

  async openInTurn(session, context) {
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
    this.sessions.set(session.id, session);
    try {
      await this.show(session);
    } catch (e) {
      this.sessions.delete(session.id);
      this.gate.release(session);
      throw e;
    }
  }

  /** Creates the session's window; one created after the session was given up is removed at once. */
  async show(session) {
    const url = this.chrome.runtime.getURL(`${PIN_PAGE}?session=${encodeURIComponent(session.id)}`);
    const kind = (session.context || session.preview || {}).kind;
    const height = TALL_KINDS.has(kind) ? TALL_HEIGHT : HEIGHT;
    let win;
    try {
      win = await this.chrome.windows.create({ url, type: "popup", width: WIDTH, height, focused: true });
    } catch (e) {
      throw new ExtensionError("ERR_INTERNAL", `Could not open the PIN window: ${e && e.message}`);
    }
    session.windowId = win.id;
    if (session.gone) {
      this.chrome.windows.remove(win.id).catch(() => {});
    }
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
    if (session.gone) {
      return;
    }
    session.gone = true;
    this.sessions.delete(session.id);
    // While a request waits at the reader's PIN pad the card stays this request's: closing the
    // window cannot stop the pad, so another window for the card would ask for a PIN the reader
    // is not taking yet. The request's owner releases the card when the host answers.
    if (!session.atReader) {
      this.gate.release(session);
    }
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

/** The gate's key for the card of `entry`: its reader. */
function cardOf(entry) {
  return (entry && entry.reader) || "card";
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
    /** What the window shows while its card is still being read (PinWindows.openFor). */
    this.preview = null;
    /** Set once the session is given up: a window created after that is removed at once. */
    this.gone = false;
    /** Set while a host request waits for the PIN on the reader's pad (see PinWindows.forget). */
    this.atReader = false;
  }

  /** Posts to the window while it is there (a port whose window went would throw). */
  post(message) {
    if (this.port && !this.gone) {
      this.port.postMessage(message);
    }
  }

  bind(port) {
    this.port = port;
    port.onMessage.addListener((message) => this.handle(message));
    port.onDisconnect.addListener(() => this.fail("ERR_USER_CANCELLED", "The PIN window was closed."));
    // Who asks is known at once; the card holder and its retries follow (setContext).
    const context = this.context || { ...this.preview, reading: true };
    port.postMessage({ type: "context", context });
    if (this.waiter) {
      // The worker was already waiting when the window finished loading.
      this.prompt();
    }
  }

  /**
   * The window shows its context and the worker waits: the user's entry is asked for ("ready"),
   * or for an automatic turn (the first request of a PIN-pad window) the wait ends here, so the
   * request goes to the reader as soon as the window says what it is for.
   */
  prompt() {
    if (this.waiter.automatic) {
      this.resolveEntry({ pin: "" });
    } else {
      this.post({ type: "ready" });
    }
  }

  resolveEntry(entry) {
    const waiter = this.waiter;
    this.waiter = null;
    clearTimeout(this.timer);
    waiter.resolve(entry);
  }

  handle(message) {
    if (!message || typeof message !== "object") {
      return;
    }
    if (message.type === "cancel") {
      // The window closes itself once the key press that cancelled is over; removing it is the fallback.
      this.fail("ERR_USER_CANCELLED", "The user cancelled the PIN entry.", 1000);
    } else if (message.type === "submit" && this.waiter && !this.waiter.automatic) {
      this.resolveEntry({
        pin: typeof message.pin === "string" ? message.pin : "",
        newPin: typeof message.newPin === "string" ? message.newPin : undefined,
      });
    }
  }

  /** The window's full context, read once the card's turn has come: shown at once if the window is there. */
  setContext(context) {
    this.context = context;
    this.post({ type: "context", context });
  }

  /**
   * Waits for the user's next entry ({pin, newPin?}); rejects on cancel, close or 2 minutes of
   * silence. With `automatic` (a PIN-pad window's first request) it resolves with no entry once
   * the window is connected and shows its context; a later turn of such a window is the user's
   * "Try again" (a `submit` without a PIN), never automatic.
   */
  nextEntry({ automatic = false } = {}) {
    if (this.finished) {
      return Promise.reject(this.finished);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject, automatic };
      this.timer = setTimeout(() => this.fail("ERR_TIMEOUT", "No PIN was entered within 2 minutes."), ANSWER_TIMEOUT_MS);
      if (this.port) {
        this.prompt();
      }
    });
  }

  /** Shows the host's answer ({code, message, retriesLeft}) in the window. */
  showError(wire, final = false) {
    this.post({ type: "error", error: wire, final });
  }

  /** Shows "working…" while the card is busy. */
  showBusy() {
    this.post({ type: "busy" });
  }

  /** Tells a PIN-pad window that the reader now asks for the PIN on its keypad. */
  showAtReader() {
    this.post({ type: "reader" });
  }

  /** A PIN-pad window takes the PIN in its own fields from now on, saying why (`message`). */
  useFields(message) {
    this.post({ type: "fields", message });
  }

  /** Ends the session; the window closes unless `keepOpen` (e.g. to show a blocked-PIN notice). */
  close(keepOpen = false) {
    this.finished = this.finished || new ExtensionError("ERR_USER_CANCELLED", "The PIN window was closed.");
    clearTimeout(this.timer);
    this.owner.sessions.delete(this.id);
    this.owner.gate.release(this);
    if (keepOpen) {
      return;
    }
    // The caller answers the page in this same turn. Closing a window keeps the browser busy for
    // tens of ms and the answer would wait behind it, so the window goes in the next task.
    setTimeout(() => {
      this.post({ type: "done" });
      this.owner.forget(this);
    }, 0);
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

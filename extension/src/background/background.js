// Service worker entry: routes content-script ports, the PIN window and the toolbar popup.
// Every listener is registered synchronously at the top level, as MV3 requires.

import { NativeHost } from "./native.js";
import { PinWindows, PIN_PORT_NAME } from "./pinwindow.js";
import { currentPolicy, policyWithin, watchPolicy } from "./policy.js";
import { ACTION_HANDLERS, mayRun } from "./actions.js";
import { popupStatus } from "./popupstatus.js";
import { CardSessions } from "./management.js";
import { ACTIONS, parseActionRequest } from "../shared/messages.js";
import { originOfSender, originRefusalMessage, isServedOrigin, effectivePolicy } from "../shared/origins.js";
import { ExtensionError, toWireError, wireError } from "../shared/errors.js";
import { log, setLogLevel } from "../shared/log.js";
import { loadWasm } from "./wasm.js";

export const CONTENT_PORT_NAME = "carecard-content";
/** The built-in lists alone (no policy, no developer mode): which origins may be told to wait while the policy loads. */
const BUILT_IN_POLICY = effectivePolicy({}, false);
/** How long a content script's hello waits for the managed policy before the built-in lists answer. */
const HELLO_POLICY_WAIT_MS = 700;

const host = new NativeHost(chrome.runtime);
const pins = new PinWindows(chrome);
/** Card sessions the host holds for pages, by the page (content port) that opened each. */
const cardSessions = new CardSessions();
/** Content ports subscribed to card events. */
const subscribers = new Set();
/** tabId → kinds with an action in flight ("one pending action of each kind per tab"). */
const busyKinds = new Map();

watchPolicy();
// Load the protocol crate now, so the first request does not wait for it.
loadWasm().catch((e) => log.error("protocol module failed to load:", e && e.message));
// Read the policy now: the content script's first question (may this page be answered?) needs it
// within the page library's ping time, and chrome.storage.managed is slow while the browser starts.
currentPolicy().catch(() => {});

/** Whether the current native port has a `watch` running. */
let watching = false;
/** Automatic re-watch attempts since the last working watch (bounded: the host may be gone for good). */
let rewatchAttempts = 0;

host.onEvent((event) => {
  if (event.event === "host-disconnected") {
    log.warn("native host disconnected:", event.message);
    watching = false;
    // The host's card sessions ended with it (its exit resets their cards).
    cardSessions.clear();
    // The host went away (crash, update): try a few times to bring the events back for listening pages.
    if (subscribers.size > 0 && rewatchAttempts < 3) {
      rewatchAttempts += 1;
      setTimeout(() => ensureWatch().catch(() => {}), 1000 * rewatchAttempts);
    }
  }
  for (const port of subscribers) {
    safePost(port, { type: "event", event });
  }
});

/** Starts `watch` on the native port when a page listens and none runs yet. */
function ensureWatch() {
  if (watching || subscribers.size === 0) {
    return Promise.resolve();
  }
  watching = true;
  return host.request("watch", {}).then(
    () => {
      rewatchAttempts = 0;
    },
    (e) => {
      watching = false;
      throw e;
    },
  );
}

chrome.runtime.onConnect.addListener((port) => {
  if (port.name === PIN_PORT_NAME) {
    pins.attach(port);
  } else if (port.name === CONTENT_PORT_NAME) {
    acceptContentPort(port);
  } else {
    port.disconnect();
  }
});

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (message && message.type === "carecard-hello" && isContentScript(sender)) {
    // The content script asks once per document whether to answer the page at all.
    answerHello(sender).then(sendResponse);
    return true;
  }
  // Only our own pages (the popup, also when opened in a tab) may ask for the full status;
  // content scripts share the extension id but their sender.url is the web page's.
  const ownPage = sender.id === chrome.runtime.id &&
    typeof sender.url === "string" && sender.url.startsWith(chrome.runtime.getURL(""));
  if (!ownPage || !message || message.type !== "popup-status") {
    return false;
  }
  popupStatus(host).then(sendResponse, (e) => sendResponse({ error: toWireError(e.wire || e) }));
  return true;
});

/** A message from our content script in the top frame of a tab (the only place the manifest injects it). */
function isContentScript(sender) {
  return Boolean(sender && sender.id === chrome.runtime.id && sender.tab && sender.frameId === 0);
}

/**
 * `{served, final, builtIn}`: whether this document's origin (the browser's word) is on the
 * policy's lists. chrome.storage.managed can take seconds while the browser starts (5 s and more
 * on a busy machine). Until it has been read the answer is not final: "yes" only for the developer
 * hosts of an unpacked install (so development and the browser tests do not wait), otherwise "no",
 * and the content script asks again after a "no" that is not final. `builtIn` (only while not
 * final) says the origin is on the built-in CIS2 lists: the content script then tells the page to
 * keep waiting. That says carecard is installed to a built-in NHS origin a policy might still
 * remove, and nothing to any other origin; it serves nothing before the real policy is read.
 */
async function answerHello(sender) {
  const origin = originOfSender(sender);
  try {
    const { policy, final } = await policyWithin(HELLO_POLICY_WAIT_MS);
    const served = isServedOrigin(origin, policy);
    if (!final) {
      return { served, final, builtIn: isServedOrigin(origin, BUILT_IN_POLICY) };
    }
    setLogLevel(policy.logLevel);
    if (!served) {
      log.debug("staying silent on", origin || "an opaque origin");
    }
    return { served, final };
  } catch (e) {
    log.error("policy unreadable:", e && e.message);
    return { served: false, final: true };
  }
}

function acceptContentPort(port) {
  const sender = port.sender || {};
  // Only top frames of tabs, as the manifest injects; anything else is not a page we serve.
  if (!sender.tab || sender.frameId !== 0 || sender.id !== chrome.runtime.id) {
    port.disconnect();
    return;
  }
  const state = { origin: originOfSender(sender), tabId: sender.tab.id, sessions: new Set(), open: true };
  port.onMessage.addListener((message) => handleContentMessage(port, state, message));
  port.onDisconnect.addListener(() => {
    state.open = false;
    subscribers.delete(port);
    for (const session of state.sessions) {
      session.fail("ERR_USER_CANCELLED", "The page was closed or reloaded.");
    }
    // A card session must not outlive its page: close it now rather than after 60 s idle.
    for (const id of cardSessions.ownedBy(state)) {
      cardSessions.forget(id);
      host.request("session-close", { session: id }).catch(() => {});
    }
  });
}

async function handleContentMessage(port, state, message) {
  const parsed = parseActionRequest(message);
  const requestId = message && typeof message.requestId === "string" ? message.requestId : null;
  if (parsed.error) {
    safePost(port, { type: "response", requestId, error: wireError(parsed.error.code, parsed.error.message) });
    return;
  }
  const kind = ACTIONS[parsed.action];
  const kinds = busyKinds.get(state.tabId) || new Set();
  if (kinds.has(kind)) {
    safePost(port, {
      type: "response",
      requestId,
      error: wireError("ERR_CARD_BUSY", "Another carecard request from this page is still running."),
    });
    return;
  }
  kinds.add(kind);
  busyKinds.set(state.tabId, kinds);
  try {
    const result = await runAction(port, state, parsed);
    log.debug(parsed.action, "from", state.origin, "succeeded");
    safePost(port, { type: "response", requestId, result });
  } catch (e) {
    const error = e instanceof ExtensionError ? e.wire : toWireError(e);
    (error.code === "ERR_INTERNAL" ? log.error : log.info)(parsed.action, "from", state.origin, "failed:", error.code);
    safePost(port, { type: "response", requestId, error });
  } finally {
    kinds.delete(kind);
    if (kinds.size === 0) {
      busyKinds.delete(state.tabId);
    }
  }
}

async function runAction(port, state, request) {
  const policy = await currentPolicy();
  setLogLevel(policy.logLevel);
  if (!state.origin || !mayRun(request.action, state.origin, policy)) {
    throw new ExtensionError("ERR_ORIGIN_NOT_ALLOWED", originRefusalMessage(state.origin));
  }
  if (request.action === "subscribe") {
    subscribers.add(port);
    try {
      await ensureWatch();
    } catch (e) {
      subscribers.delete(port);
      throw e;
    }
    return {};
  }
  if (request.action === "unsubscribe") {
    subscribers.delete(port);
    return {};
  }
  // Any request reopens a lost native port; bring the events back with it.
  ensureWatch().catch(() => {});
  const ctx = {
    origin: state.origin,
    policy,
    host,
    pins,
    track: (session) => state.sessions.add(session),
    untrack: (session) => state.sessions.delete(session),
    cardSessions,
    owner: state,
    isClosed: () => !state.open,
  };
  return ACTION_HANDLERS[request.action](ctx, request.arguments);
}

function safePost(port, message) {
  try {
    port.postMessage(message);
  } catch {
    // The tab went away; nothing to tell.
  }
}

// Content script: the bridge between the page library (window.postMessage) and the worker
// (one runtime port). Classic script (content scripts cannot be ES modules), so it keeps its
// own copy of the page-message check of src/shared/messages.js.
// It is injected on every https page (the static pattern, see docs/ARCHITECTURE.md) but stays
// silent unless the worker says this document's origin is on the policy's allow-lists: before
// the first answer to a page (even a ping) it asks the worker once, and the worker decides from
// the browser's sender.origin, so a page outside the lists cannot tell carecard is installed.
// One exception while the browser starts and the policy is not read yet: a ping from a built-in
// CIS2 origin is told "wait" (not served), so the page library gives the policy its time.
(() => {
  "use strict";

  const TAG = 1;
  const PAGE_SOURCE = "carecard-page";
  const EXTENSION_SOURCE = "carecard-extension";
  const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;
  const PORT_NAME = "carecard-content";
  const HELLO_ATTEMPTS = 30;
  const HELLO_RETRY_MS = 300;

  let port = null;
  /** null until the page first speaks to us; then a promise of the worker's verdict for this document. */
  let verdict = null;
  /**
   * Pings waiting for a verdict that is not final yet (the browser is starting), and whether the
   * worker said this origin is one of the built-in CIS2 ones: then each is told "wait" once, so
   * the page library allows the policy its time instead of reporting no extension after 5 s.
   */
  const waitingPings = new Set();
  let builtInWhilePending = false;

  /** Whether the worker serves this document's origin (asked once; a failed ask is retried next time). */
  function served() {
    if (verdict === null) {
      verdict = new Promise((resolve) => ask(resolve, 1)).then((yes) => {
        builtInWhilePending = false;
        waitingPings.clear();
        return yes;
      });
    }
    return verdict;
  }

  function ask(resolve, attempt) {
    try {
      chrome.runtime.sendMessage({ type: "carecard-hello" }, (reply) => {
        if (chrome.runtime.lastError || !reply) {
          verdict = null;
          resolve(false);
        } else if (reply.served === true) {
          resolve(true);
        } else if (reply.final === false && attempt < HELLO_ATTEMPTS) {
          // The worker has not read the enterprise policy yet (browser starting): ask again.
          if (reply.builtIn === true) {
            builtInWhilePending = true;
            tellPingsToWait();
          }
          setTimeout(() => ask(resolve, attempt + 1), HELLO_RETRY_MS);
        } else {
          resolve(false);
        }
      });
    } catch {
      // The extension was reloaded or disabled under this page.
      verdict = null;
      resolve(false);
    }
  }

  function tellPingsToWait() {
    for (const requestId of waitingPings) {
      toPage({ type: "wait", requestId });
    }
    waitingPings.clear();
  }

  function isPageMessage(data) {
    return (
      data !== null &&
      typeof data === "object" &&
      data.carecard === TAG &&
      data.source === PAGE_SOURCE &&
      (data.type === "ping" || data.type === "request") &&
      typeof data.requestId === "string" &&
      REQUEST_ID.test(data.requestId)
    );
  }

  function toPage(message) {
    // Same-window delivery only: the page's own origin, never "*".
    window.postMessage({ carecard: TAG, source: EXTENSION_SOURCE, ...message }, window.location.origin);
  }

  function connect() {
    if (port) {
      return port;
    }
    port = chrome.runtime.connect({ name: PORT_NAME });
    port.onMessage.addListener((message) => {
      if (message && (message.type === "response" || message.type === "event")) {
        toPage(message);
      }
    });
    port.onDisconnect.addListener(() => {
      // The worker restarted or the extension was reloaded: pending page calls will time out
      // in the library; the next call opens a new port.
      void chrome.runtime.lastError;
      port = null;
    });
    return port;
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window || !isPageMessage(event.data)) {
      return;
    }
    const data = event.data;
    const pending = served();
    if (data.type === "ping") {
      waitingPings.add(data.requestId);
      if (builtInWhilePending) {
        tellPingsToWait();
      }
    }
    // Messages keep their order: every one waits on the same verdict.
    pending.then((yes) => {
      if (yes) {
        relay(data);
      }
    });
  });

  function relay(data) {
    if (data.type === "ping") {
      toPage({ type: "pong", requestId: data.requestId });
      return;
    }
    try {
      connect().postMessage({
        type: "request",
        requestId: data.requestId,
        action: data.action,
        arguments: data.arguments,
      });
    } catch {
      port = null;
      toPage({
        type: "response",
        requestId: data.requestId,
        error: { code: "ERR_EXTENSION_UNAVAILABLE", message: "The carecard extension was updated or disabled. Reload the page." },
      });
    }
  }
})();

// Content script: the bridge between the page library (window.postMessage) and the worker
// (one runtime port). Classic script (content scripts cannot be ES modules), so it keeps its
// own copy of the page-message check of src/shared/messages.js.
(() => {
  "use strict";

  const TAG = 1;
  const PAGE_SOURCE = "carecard-page";
  const EXTENSION_SOURCE = "carecard-extension";
  const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;
  const PORT_NAME = "carecard-content";

  let port = null;

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
  });
})();

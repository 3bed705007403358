// Toolbar popup: readers, card, holder, certificate expiry and the helper version; "Copy
// diagnostics" for the service desk.

import { diagnosticsText } from "./diagnostics.js";

const $ = (id) => document.getElementById(id);

function message(text, isError) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

function formatDate(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" });
}

function show(status) {
  if (!status || status.error) {
    const error = (status && status.error) || { code: "ERR_INTERNAL", message: "No answer from the extension." };
    message(
      error.code === "ERR_NATIVE_UNAVAILABLE"
        ? "The carecard helper program is not installed or could not start. Install carecard, or ask your service desk."
        : error.message,
      true,
    );
    return;
  }
  $("host-version").textContent = status.version || "unknown";
  if (status.pcsc !== "available") {
    message("The smartcard service of this computer is not running (PC/SC unavailable). Restart the computer or ask your service desk.", true);
    return;
  }
  const readers = $("readers");
  readers.replaceChildren();
  for (const reader of status.readers) {
    const item = document.createElement("li");
    item.textContent = `${reader.name} — ${reader.card ? "card present" : "no card"}`;
    item.dataset.card = reader.card ? "present" : "absent";
    readers.append(item);
  }
  if (status.readers.length === 0) {
    message("No smartcard reader found. Connect your reader.", false);
    return;
  }
  const card = status.cards[0];
  if (!card) {
    message(status.readers.some((r) => r.card) ? "The inserted card has no login certificate." : "Insert your smartcard.", false);
    return;
  }
  $("holder").textContent = card.userId ? `${card.holder} (${card.userId})` : card.holder;
  const expiry = $("expiry");
  const days = card.daysLeft < 0 ? "expired" : `${card.daysLeft} day${card.daysLeft === 1 ? "" : "s"} left`;
  expiry.textContent = `${formatDate(card.notAfter)} (${days})`;
  expiry.className = card.expiryWarning ? "warning" : "";
  if (card.daysLeft < 0) {
    message("Your smartcard certificate has expired. Contact your Registration Authority (RA).", true);
  } else if (card.expiryWarning) {
    message("Your smartcard certificate expires soon: renew it on the CIS2 self-service site.", false);
  }
}

let lastStatus = null;

/** "Copy diagnostics": what the extension knows, for the IT service desk. */
async function copyDiagnostics() {
  let managed = {};
  try {
    managed = await chrome.storage.managed.get(null);
  } catch {
    // no managed storage on this platform
  }
  const text = diagnosticsText({
    manifest: chrome.runtime.getManifest(),
    extensionId: chrome.runtime.id,
    managed,
    status: lastStatus,
    userAgent: navigator.userAgent,
    now: new Date(),
  });
  try {
    await navigator.clipboard.writeText(text);
    $("copied").textContent = "Copied: paste it into your message to the service desk.";
  } catch {
    $("copied").textContent = "Could not copy to the clipboard.";
  }
}

$("copy-diagnostics").addEventListener("click", copyDiagnostics);

chrome.runtime.sendMessage({ type: "popup-status" }).then(
  (status) => {
    lastStatus = status;
    show(status);
  },
  (e) => {
    lastStatus = { error: { code: "ERR_INTERNAL", message: e.message } };
    show(lastStatus);
  },
);

// PIN window. Talks only to the worker; the PIN is sent once per submission and the inputs
// are cleared at once. Nothing is stored.

const $ = (id) => document.getElementById(id);
const port = chrome.runtime.connect({ name: "carecard-pin" });
let kind = "authenticate";
let finished = false;

const TITLES = {
  authenticate: "Log in with your smartcard",
  sign: "Sign with your smartcard",
  "change-pin": "Change your smartcard PIN",
  unlock: "Unlock your smartcard",
};

port.onMessage.addListener((message) => {
  switch (message && message.type) {
    case "context":
      showContext(message.context);
      break;
    case "ready":
      setEnabled(true);
      break;
    case "busy":
      setEnabled(false);
      say("Working with your card…", true);
      break;
    case "error":
      showError(message.error, message.final === true);
      break;
    case "done":
      finished = true;
      window.close();
      break;
    default:
      break;
  }
});
port.onDisconnect.addListener(() => {
  if (!finished) {
    window.close();
  }
});

function showContext(context) {
  kind = context.kind;
  $("title").textContent = TITLES[kind] || TITLES.authenticate;
  $("origin").textContent = context.origin;
  $("holder").textContent = context.holder;
  $("user-id").textContent = context.userId ? `(${context.userId})` : "";
  showRetries(context.retriesLeft);
  const needsNew = kind === "change-pin" || kind === "unlock";
  $("new-pin-fields").hidden = !needsNew;
  if (kind === "unlock") {
    $("pin").hidden = true;
    $("pin-label").hidden = true;
    $("new-pin").focus();
  } else {
    $("pin-label").textContent = kind === "change-pin" ? "Current PIN" : "PIN";
    $("pin").focus();
  }
  setEnabled(false);
}

function showRetries(retries) {
  $("retries").textContent = Number.isInteger(retries) ? String(retries) : "unknown";
}

function showError(error, final) {
  if (Number.isInteger(error.retriesLeft)) {
    showRetries(error.retriesLeft);
  }
  let text = error.message || error.code;
  if (error.code === "ERR_PIN_INCORRECT") {
    text = `Wrong PIN. ${error.retriesLeft === 1 ? "One try" : `${error.retriesLeft} tries`} left before the card is blocked.`;
  }
  say(text, false);
  if (final) {
    finished = true;
    showRetries(0);
    for (const id of ["pin", "new-pin", "confirm-pin", "submit"]) {
      $(id).disabled = true;
    }
    $("cancel").textContent = "Close";
    $("cancel").disabled = false;
  } else {
    setEnabled(true);
    (kind === "unlock" ? $("new-pin") : $("pin")).focus();
  }
}

function say(text, info) {
  $("message").textContent = text;
  $("message").className = info ? "info" : "";
}

function setEnabled(enabled) {
  for (const id of ["pin", "new-pin", "confirm-pin", "submit"]) {
    $(id).disabled = !enabled;
  }
}

function clearInputs() {
  for (const id of ["pin", "new-pin", "confirm-pin"]) {
    $(id).value = "";
  }
}

function submit(event) {
  event.preventDefault();
  if (finished || $("submit").disabled) {
    return;
  }
  const message = { type: "submit", pin: "" };
  if (kind !== "unlock") {
    message.pin = $("pin").value;
    if (message.pin.length < 4 || message.pin.length > 8) {
      say("The PIN has 4 to 8 characters.", false);
      return;
    }
  }
  if (kind === "change-pin" || kind === "unlock") {
    const newPin = $("new-pin").value;
    if (!/^[0-9]{6,8}$/.test(newPin)) {
      say("The new PIN must be 6 to 8 digits.", false);
      return;
    }
    if (newPin !== $("confirm-pin").value) {
      say("The two new PINs are different.", false);
      return;
    }
    message.newPin = newPin;
  }
  clearInputs();
  setEnabled(false);
  port.postMessage(message);
  message.pin = "";
  message.newPin = "";
}

function cancel() {
  if (finished) {
    window.close();
    return;
  }
  finished = true;
  setEnabled(false);
  $("cancel").disabled = true;
  try {
    // The worker fails the page request at once; closing also tells it (port disconnect).
    port.postMessage({ type: "cancel" });
  } finally {
    // A moment's delay lets the key or click that cancelled finish before the window goes.
    setTimeout(() => window.close(), 50);
  }
}

$("form").addEventListener("submit", submit);
$("cancel").addEventListener("click", cancel);
// Escape cancels on key release, so the whole key press has been delivered before the window closes.
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
  }
});
document.addEventListener("keyup", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    cancel();
  }
});

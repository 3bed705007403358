// PIN window. Talks only to the worker; the PIN is sent once per submission and the inputs
// are cleared at once. Nothing is stored.

import { PIN_KINDS, entryProblem } from "../shared/pinentry.js";

const $ = (id) => document.getElementById(id);
const port = chrome.runtime.connect({ name: "carecard-pin" });
let kind = "authenticate";
/** The PIN is typed on the card reader's keypad (the worker's choice, in the context): no fields here. */
let onReader = false;
let finished = false;

const TITLES = {
  authenticate: "Log in with your smartcard",
  sign: "Sign with your smartcard",
  "change-pin": "Change your smartcard PIN",
  unlock: "Unlock your smartcard",
  confirm: "Confirm with your smartcard PIN",
};

const READER_ENTRY = "Type your PIN on the card reader's keypad, then press its OK key.";
const READER_CHANGE =
  "On the card reader's keypad, type your current PIN, then the new PIN (6–8 digits) twice, pressing its OK key after each.";

port.onMessage.addListener((message) => {
  switch (message && message.type) {
    case "context":
      showContext(message.context);
      break;
    case "ready":
      setEnabled(true);
      focusFirstField();
      break;
    case "busy":
      setEnabled(false);
      say("Working with your card…", true);
      break;
    case "reader":
      // The request is at the reader now: nothing to press here until the card answers.
      $("submit").hidden = true;
      setEnabled(false);
      say("", true);
      break;
    case "fields":
      // The reader's pad could not take this PIN: it is typed here after all (fields enabled on "ready").
      showFields(false);
      say(typeof message.message === "string" ? message.message : "", false);
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

/**
 * Who asks and what for; with `reading` (the window opened while the worker reads the card) the
 * card holder and tries left follow in a second context. The fields stay off until "ready".
 */
function showContext(context) {
  kind = Object.hasOwn(PIN_KINDS, context.kind) ? context.kind : "authenticate";
  // The purpose of a confirm window is one of the worker's fixed texts, never the page's words.
  const purpose = kind === "confirm" && typeof context.purpose === "string" ? context.purpose : "";
  $("title").textContent = purpose || TITLES[kind];
  document.title = `carecard – ${purpose || TITLES[kind]}`;
  $("origin").textContent = context.origin;
  $("purpose").hidden = !purpose;
  $("purpose").textContent = purpose ? `${purpose} for ${context.origin}. Type your PIN to confirm.` : "";
  showSignDetails(context);
  const reading = context.reading === true;
  $("holder").textContent = reading ? "Reading your card…" : context.holder;
  $("user-id").textContent = !reading && context.userId ? `(${context.userId})` : "";
  $("retries").textContent = reading ? "" : retriesText(context.retriesLeft);
  showFields(context.pinEntry === "reader" && PIN_KINDS[kind].reader);
  setEnabled(false);
}

/**
 * The window's fields, or on a PIN-pad reader none: the instruction to use the keypad, and the
 * OK button becomes "Try again", shown only after a wrong PIN (the worker sends the first request
 * itself, and a new one only when that button is pressed).
 */
function showFields(reader) {
  onReader = reader;
  const fields = onReader ? { pin: false, newPin: false } : PIN_KINDS[kind];
  $("new-pin-fields").hidden = !fields.newPin;
  $("pin").hidden = !fields.pin;
  $("pin-label").hidden = !fields.pin;
  $("pin-label").textContent = kind === "change-pin" ? "Current PIN" : "PIN";
  $("reader-entry").hidden = !onReader;
  $("reader-entry").textContent = onReader ? (kind === "change-pin" ? READER_CHANGE : READER_ENTRY) : "";
  $("submit").textContent = onReader ? "Try again" : "OK";
  $("submit").hidden = onReader;
}

/** Keyboard focus in the first field the user types into (on a PIN-pad reader: "Try again"). */
function focusFirstField() {
  if (onReader) {
    $("submit").focus();
    return;
  }
  (PIN_KINDS[kind].pin ? $("pin") : $("new-pin")).focus();
}

/** For signing: what the site says is signed (its words, in quotes) and the hash's fingerprint. */
function showSignDetails(context) {
  const signing = kind === "sign";
  $("sign-details").hidden = !signing;
  if (!signing) {
    return;
  }
  $("description").textContent = context.description
    ? `“${context.description}” (the site's description)`
    : "The site did not say what this is.";
  $("hash-function").textContent = context.hashFunction || "";
  $("fingerprint").textContent = context.fingerprint || "";
}

function showRetries(retries) {
  $("retries").textContent = retriesText(retries);
}

function retriesText(retries) {
  return Number.isInteger(retries) ? String(retries) : "unknown";
}

function showError(error, final) {
  // Tries left on the PIN; a PUK's tries are in its message.
  if (Number.isInteger(error.retriesLeft) && error.code !== "ERR_PUK_INCORRECT") {
    showRetries(error.retriesLeft);
  }
  let text = error.message || error.code;
  if (error.code === "ERR_PIN_INCORRECT") {
    text = `Wrong PIN. ${error.retriesLeft === 1 ? "One try" : `${error.retriesLeft} tries`} left before the card is blocked.`;
  }
  say(text, false);
  if (final) {
    finished = true;
    if (error.code === "ERR_PIN_BLOCKED") {
      showRetries(0);
    }
    for (const id of ["pin", "new-pin", "confirm-pin", "submit"]) {
      $(id).disabled = true;
    }
    $("cancel").textContent = "Close";
    $("cancel").disabled = false;
  } else {
    $("submit").hidden = false;
    setEnabled(true);
    focusFirstField();
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
  if (onReader) {
    // "Try again": the reader takes the PIN; this only asks the worker for one more request.
    setEnabled(false);
    port.postMessage({ type: "submit" });
    return;
  }
  const fields = PIN_KINDS[kind];
  const entry = {
    pin: fields.pin ? $("pin").value : "",
    newPin: fields.newPin ? $("new-pin").value : undefined,
    confirmPin: fields.newPin ? $("confirm-pin").value : undefined,
  };
  const problem = entryProblem(kind, entry);
  if (problem) {
    // Nothing is sent: the card's tries are not spent on a typing slip.
    say(problem, false);
    return;
  }
  const message = { type: "submit", pin: entry.pin };
  if (fields.newPin) {
    message.newPin = entry.newPin;
  }
  entry.pin = "";
  entry.newPin = "";
  entry.confirmPin = "";
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
  // On a PIN-pad reader this cannot stop the keypad: nothing can reach the reader while it asks.
  // The request in progress ends with the reader's timeout, its Cancel key or the card's answer.
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

// Login page: challenge → carecard.authenticate → /api/login → /home.
// Loaded as a module file (the CSP forbids inline scripts).

const status = document.getElementById("status");
const button = document.getElementById("login");

function show(text, isError) {
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

// Messages for why we came back to this page.
const REASONS = {
  "card-removed": "You were logged out because the card was removed",
  "logged-out": "You have logged out.",
};
const reason = new URLSearchParams(location.search).get("reason");
if (reason && REASONS[reason]) show(REASONS[reason], false);

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body ?? {}),
  });
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    // A non-JSON reply is reported below by its status.
  }
  if (!response.ok) {
    throw { code: payload.error ?? `HTTP_${response.status}`, message: payload.message ?? response.statusText };
  }
  return payload;
}

async function loadCarecard() {
  try {
    return await import("/carecard.js");
  } catch {
    throw {
      code: "ERR_EXTENSION_UNAVAILABLE",
      message: "The carecard page library could not be loaded (start mock-cis2 with --carecard-js).",
    };
  }
}

async function logIn() {
  button.disabled = true;
  show("Waiting for your smartcard…", false);
  try {
    const carecard = await loadCarecard();
    const { nonce } = await postJson("/api/challenge");
    show("Enter your PIN in the carecard window…", false);
    const authToken = await carecard.authenticate({ challengeNonce: nonce });
    show("Checking…", false);
    const result = await postJson("/api/login", { authToken });
    // Back to the card-management page that sent us here (a path of this site only), unless the
    // service needs something first (a PIN change after an RA issued the card).
    const next = new URLSearchParams(location.search).get("next");
    const back = next && /^\/manage\/[\w/-]*$/.test(next) && !result.mustChangePin ? next : null;
    location.assign(back ?? result.redirect ?? "/home");
  } catch (error) {
    const code = error?.code ?? "ERROR";
    const message = error?.message ?? String(error);
    show(`Login failed (${code}): ${message}`, true);
    status.dataset.code = code;
    button.disabled = false;
  }
}

button.addEventListener("click", logIn);

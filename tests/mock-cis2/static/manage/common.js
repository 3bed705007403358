// Shared by the card-management pages: the page library, the service's JSON API, the status line
// and the relay that runs the service's card-management operations on the card.

export const status = document.getElementById("status");

/** Shows `text` in #status; `code` goes to data-code (tests and support staff read it). */
export function show(text, { code = "", error = false, retriesLeft } = {}) {
  status.textContent = text;
  status.classList.toggle("error", Boolean(error));
  status.dataset.code = code;
  if (retriesLeft === undefined || retriesLeft === null) delete status.dataset.retriesLeft;
  else status.dataset.retriesLeft = String(retriesLeft);
}

/** Shows a carecard or service error in #status, in words a clinician can act on. */
export function showError(prefix, error) {
  const code = error?.code ?? "ERROR";
  let text = `${prefix} (${code}): ${error?.message ?? String(error)}`;
  if (Number.isInteger(error?.retriesLeft)) text += ` — ${error.retriesLeft} tries left`;
  show(text, { code, error: true, retriesLeft: error?.retriesLeft });
}

export async function loadCarecard() {
  try {
    return await import("/carecard.js");
  } catch {
    throw { code: "ERR_EXTENSION_UNAVAILABLE", message: "The carecard page library could not be loaded." };
  }
}

export async function postJson(path, body) {
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
    // reported by status below
  }
  if (!response.ok) {
    throw { code: payload.error ?? `HTTP_${response.status}`, message: payload.message ?? response.statusText, ...payload };
  }
  return payload;
}

/** The 9A (else first) certificate of a `cards()` entry. */
export function certificateOf(card, slot = "9A") {
  return card?.certificates?.find((c) => c.slot === slot)?.certificate ?? null;
}

export function setBusy(busy) {
  document.body.dataset.state = busy ? "working" : "ready";
  for (const button of document.querySelectorAll("button[data-action]")) button.disabled = busy;
}

/**
 * Test hook: when <body data-pause-after="<step>"> names the step just done on the card, the relay
 * waits (body data-paused="<step>") until the attribute is removed, so a test can kill the host
 * or pull the card at exactly that point. Pages never set it themselves.
 */
async function pauseHook(step) {
  if (document.body.dataset.pauseAfter !== step) return;
  document.body.dataset.paused = step;
  while (document.body.dataset.pauseAfter === step) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  delete document.body.dataset.paused;
}

/**
 * Runs a service operation on the card of `session`: the service says each step, the card does it
 * through carecard, and the card's answer goes back to the service, until it says done.
 */
export async function runOperation(carecard, session, start, onStep = () => {}) {
  document.body.dataset.steps = "";
  let reply = await postJson("/manage/api/op/start", start);
  const op = reply.op;
  while (reply.next) {
    const { command, args, step } = reply.next;
    onStep(step);
    let result;
    try {
      if (command === "unlock") {
        // The PIN is set (or reset) with the PUK the service holds, for this session's card.
        result = await carecard.unlock({ puk: args.puk, session });
      } else {
        result = await carecard.cardSession(session, command, args);
      }
    } catch (error) {
      await postJson("/manage/api/op/next", { op, error: { code: error?.code ?? "ERROR" } }).catch(() => {});
      throw error;
    }
    document.body.dataset.lastStep = step;
    document.body.dataset.steps = `${document.body.dataset.steps ?? ""}${step} `;
    await pauseHook(step);
    reply = await postJson("/manage/api/op/next", { op, result });
  }
  return reply;
}

export function formatDate(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

// RA pages: issue a blank card / repair a card in the OTHER reader (the RA is logged in with
// their own card). The card is chosen by reader; the service drives the steps (management key,
// CHUID/CCC, initial PIN with the PUK it holds, keys and certificates).
import { show, showError, loadCarecard, postJson, certificateOf, setBusy, runOperation } from "./common.js";

const $ = (id) => document.getElementById(id);
const page = document.body.dataset.page;
const select = $("reader");
let carecard;
let cards = [];

async function refresh() {
  ({ cards } = await carecard.cards());
  // Issue: blank PIV cards (no CHUID, no certificate). Repair: cards that have been issued.
  const fits = page === "ra-issue"
    ? (c) => c.application === "PIV" && !c.cardId && !certificateOf(c)
    : (c) => c.application === "PIV" && c.cardId && certificateOf(c);
  const candidates = cards.filter(fits);
  const previous = select.value;
  select.replaceChildren(...candidates.map((c) => new Option(c.reader, c.reader)));
  if (candidates.some((c) => c.reader === previous)) select.value = previous;
  document.body.dataset.candidates = String(candidates.length);
  return candidates;
}

async function operate(kind) {
  setBusy(true);
  let session = null;
  try {
    await refresh();
    const card = cards.find((c) => c.reader === select.value);
    if (!card) throw { code: "ERR_NO_CARD", message: page === "ra-issue" ? "Put a blank card in a reader." : "Put the card in a reader." };
    const opened = await carecard.openCardSession({ reader: card.reader });
    session = opened.session;
    const start = kind === "issue"
      ? { kind, givenName: $("given-name").value, surname: $("surname").value, userId: $("holder-user-id").value, algorithm: $("algorithm").value }
      : { kind, certificate: certificateOf(card), cardId: opened.cardId ?? card.cardId };
    const done = await runOperation(carecard, session, start, (step) => show(`Working (${step}): follow the carecard window…`, { code: "WAITING" }));
    await carecard.cardSession(session, "session-close").catch(() => {});
    session = null;
    const result = $("result");
    result.hidden = false;
    result.dataset.cardId = done.cardId ?? "";
    result.dataset.userId = done.userId ?? "";
    result.textContent = `${done.holder} (${done.userId}): card ${kind === "issue" ? "issued" : "repaired"}. They must choose their own PIN at their next login.`;
    show(kind === "issue" ? "The card has been issued." : "The card has been repaired.", { code: kind === "issue" ? "ISSUED" : "REPAIRED" });
  } catch (error) {
    if (session) await carecard.cardSession(session, "session-close").catch(() => {});
    showError(kind === "issue" ? "The card was not issued" : "The card was not repaired", error);
  } finally {
    await refresh().catch(() => {});
    setBusy(false);
  }
}

$(page === "ra-issue" ? "issue" : "repair").addEventListener("click", () => operate(page === "ra-issue" ? "issue" : "repair"));

setBusy(true);
try {
  carecard = await loadCarecard();
  await refresh();
  show("", { code: "READY" });
} catch (error) {
  showError("Cannot read the cards", error);
} finally {
  setBusy(false);
}

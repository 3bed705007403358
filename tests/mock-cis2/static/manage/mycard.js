// "My card": holder, expiry, days left, PIN tries; change the PIN; renew the certificates (in
// their last 90 days, or on request), finishing an interrupted renewal first.
import { show, showError, loadCarecard, postJson, certificateOf, setBusy, runOperation, formatDate } from "./common.js";

const $ = (id) => document.getElementById(id);
const select = $("card");
let carecard;
let cards = [];
let info = null;

function chosenCard() {
  return cards.find((c) => c.reader === select.value) ?? cards[0] ?? null;
}

async function refresh() {
  ({ cards } = await carecard.cards());
  cards = cards.filter((c) => c.application === "PIV" && certificateOf(c));
  const previous = select.value;
  select.replaceChildren(...cards.map((c) => new Option(c.reader, c.reader)));
  if (cards.some((c) => c.reader === previous)) select.value = previous;
  $("card-choice").hidden = cards.length < 2;
  const card = chosenCard();
  if (!card) {
    info = null;
    show("Insert your smartcard.", { code: "ERR_NO_CARD", error: true });
    return;
  }
  info = await postJson("/manage/api/card", {
    certificate: certificateOf(card), cardId: card.cardId, pendingRenewal: card.pendingRenewal ?? [],
  });
  $("holder").textContent = info.holder;
  $("user-id").textContent = info.userId ?? "";
  $("expiry").textContent = formatDate(info.notAfter);
  $("expiry").dataset.notAfter = String(info.notAfter);
  $("days-left").textContent = String(info.daysLeft);
  $("pin-retries").textContent = card.pinBlocked ? "0 (blocked: unlock your card)" : String(card.pinRetriesLeft);
  document.body.dataset.yours = String(info.yours);
  const unfinished = info.renewalUnfinished || (card.pendingRenewal ?? []).length > 0;
  $("renewal-note").textContent = unfinished
    ? "A renewal of this card did not finish. Press Renew to finish it."
    : info.renewalDue
      ? `Your certificates expire in ${info.daysLeft} days: renew them now.`
      : `Renewal opens ${90} days before expiry; you may still renew now if you need to.`;
  $("renew").textContent = unfinished ? "Finish renewal" : info.renewalDue ? "Renew certificates" : "Renew now";
  $("must-change-pin").hidden = !info.mustChangePin;
  document.body.dataset.mustChangePin = String(Boolean(info.mustChangePin));
}

async function changePin() {
  setBusy(true);
  show("Type your current PIN and your new PIN in the carecard window…", { code: "WAITING" });
  try {
    await carecard.changePin({ certificate: certificateOf(chosenCard()) });
    if (info?.mustChangePin) await postJson("/manage/api/pin-changed", {});
    await refresh();
    show("Your PIN has been changed.", { code: "PIN_CHANGED" });
  } catch (error) {
    showError("The PIN was not changed", error);
    await refresh().catch(() => {});
  } finally {
    setBusy(false);
  }
}

async function renew() {
  setBusy(true);
  show("Renewing: follow the carecard window…", { code: "WAITING" });
  let session = null;
  try {
    await refresh();
    const card = chosenCard();
    const opened = await carecard.openCardSession({ certificate: certificateOf(card) });
    session = opened.session;
    const done = await runOperation(carecard, session, {
      kind: "renew",
      onRequest: true,
      certificate: certificateOf(card),
      certificates: card.certificates,
      cardId: opened.cardId ?? card.cardId,
      pendingRenewal: opened.pendingRenewal ?? card.pendingRenewal ?? [],
    }, (step) => show(`Renewing (${step})…`, { code: "WAITING" }));
    await carecard.cardSession(session, "session-close").catch(() => {});
    session = null;
    const auth = done.certificates.find((c) => c.slot === "9A") ?? done.certificates[0];
    const expiry = $("new-expiry");
    if (auth) {
      expiry.hidden = false;
      expiry.dataset.notAfter = String(auth.notAfter);
      expiry.textContent = `New certificates valid until ${formatDate(auth.notAfter)}.`;
    }
    await refresh();
    show("Your card has been renewed.", { code: "RENEWED" });
  } catch (error) {
    if (session) await carecard.cardSession(session, "session-close").catch(() => {});
    showError("The renewal did not finish; press Renew to finish it", error);
    await refresh().catch(() => {});
  } finally {
    setBusy(false);
  }
}

$("change-pin").addEventListener("click", changePin);
$("renew").addEventListener("click", renew);
select.addEventListener("change", () => refresh().catch((e) => showError("Cannot read the card", e)));

setBusy(true);
try {
  carecard = await loadCarecard();
  await refresh();
  if (new URLSearchParams(location.search).has("first-login") && info?.mustChangePin) {
    show("Choose your own PIN before you continue.", { code: "MUST_CHANGE_PIN" });
  } else if (!document.getElementById("status").dataset.code) {
    show("", { code: "READY" });
  }
} catch (error) {
  showError("Cannot read your card", error);
} finally {
  setBusy(false);
}

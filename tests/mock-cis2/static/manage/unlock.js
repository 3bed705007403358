// "Unlock my card": an identity check (a one-time code standing in for the real service's) →
// the service releases the PUK of this card only → carecard.unlock (the holder types the new PIN
// twice in the extension's window). A wrong PUK is shown with its tries left and never retried.
import { show, showError, loadCarecard, postJson, certificateOf, setBusy } from "./common.js";

const $ = (id) => document.getElementById(id);
const select = $("card");
let carecard;
let cards = [];

function chosenCard() {
  return cards.find((c) => c.reader === select.value) ?? null;
}

async function refresh() {
  ({ cards } = await carecard.cards());
  cards = cards.filter((c) => c.application === "PIV" && certificateOf(c));
  // A blocked card first: that is the one to unlock.
  cards.sort((a, b) => Number(Boolean(b.pinBlocked)) - Number(Boolean(a.pinBlocked)));
  const previous = select.value;
  select.replaceChildren(...cards.map((c) => new Option(`${c.reader}${c.pinBlocked ? " (blocked)" : ""}`, c.reader)));
  if (cards.some((c) => c.reader === previous)) select.value = previous;
  $("card-choice").hidden = cards.length < 2;
  if (!cards.length) show("Insert your smartcard.", { code: "ERR_NO_CARD", error: true });
}

async function startCheck() {
  setBusy(true);
  try {
    await refresh();
    const card = chosenCard();
    if (!card) return;
    const check = await postJson("/manage/api/unlock/start", { certificate: certificateOf(card), cardId: card.cardId });
    $("holder").textContent = check.holder;
    $("user-id").textContent = check.userId;
    $("otp-hint").textContent = `Test service: the code sent to your phone is ${check.codeHint}.`;
    $("otp-hint").dataset.code = check.codeHint;
    $("check").hidden = false;
    document.body.dataset.cardId = card.cardId;
    show("Type the code we sent you.", { code: "CODE_SENT" });
  } catch (error) {
    showError("The identity check could not start", error);
  } finally {
    setBusy(false);
  }
}

async function verifyAndUnlock() {
  setBusy(true);
  let puk = null;
  try {
    const card = chosenCard();
    const released = await postJson("/manage/api/unlock/verify", { code: $("otp").value.trim() });
    if (released.cardId !== card?.cardId) throw { code: "WRONG_CARD", message: "The card changed; start again." };
    puk = released.puk;
    show("Type your new PIN twice in the carecard window…", { code: "WAITING" });
    await carecard.unlock({ puk, certificate: certificateOf(card) });
    puk = null;
    await postJson("/manage/api/unlock/done", { code: "OK" });
    show("Your card is unlocked with your new PIN.", { code: "UNLOCKED" });
  } catch (error) {
    puk = null;
    // Never tried again by itself: a wrong PUK costs a PUK try. Report it and stop.
    await postJson("/manage/api/unlock/done", { code: error?.code ?? "ERROR" }).catch(() => {});
    showError("Your card was not unlocked", error);
  } finally {
    $("check").hidden = true;
    $("otp").value = "";
    await refresh().catch(() => {});
    setBusy(false);
  }
}

$("start-check").addEventListener("click", startCheck);
$("verify").addEventListener("click", verifyAndUnlock);

setBusy(true);
try {
  carecard = await loadCarecard();
  await refresh();
  if (!$("status").dataset.code) show("", { code: "READY" });
} catch (error) {
  showError("Cannot read your card", error);
} finally {
  setBusy(false);
}

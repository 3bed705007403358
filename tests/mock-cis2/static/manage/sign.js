// Signing: the service gives a document and its hash; the card signs the hash with its 9C key
// (the PIN window shows the site, the description and the hash's fingerprint); the service
// verifies the signature against the signing certificate.
import { show, showError, loadCarecard, postJson, certificateOf, setBusy } from "./common.js";

let carecard;

async function sign() {
  setBusy(true);
  try {
    const { cards } = await carecard.cards();
    const card = cards.find((c) => certificateOf(c, "9C"));
    if (!card) throw { code: "ERR_NO_CARD", message: "Insert your smartcard." };
    const certificate = certificateOf(card, "9C");
    const documentToSign = await postJson("/manage/api/sign/document", { certificate });
    document.getElementById("document").textContent = documentToSign.text;
    show("Type your PIN in the carecard window to sign…", { code: "WAITING" });
    const signed = await carecard.sign({
      hash: documentToSign.hash,
      hashFunction: documentToSign.hashFunction,
      certificate,
      description: documentToSign.text.slice(0, 200),
    });
    const verified = await postJson("/manage/api/sign/verify", { id: documentToSign.id, signature: signed.signature });
    show(`Signed and verified by the service (prescription ${verified.id.slice(0, 8)}).`, { code: "VERIFIED" });
  } catch (error) {
    showError("Not signed", error);
  } finally {
    setBusy(false);
  }
}

document.getElementById("sign").addEventListener("click", sign);
try {
  carecard = await loadCarecard();
  show("", { code: "READY" });
} catch (error) {
  showError("Cannot load carecard", error);
}
setBusy(false);

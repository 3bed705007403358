// Which card and certificate a PIN-window action uses, and the PIN retries the window shows, from
// one `cards` answer (INTERFACES.md, "Card contract v2"). Pure, so unit tests need no host.

import { ExtensionError } from "../shared/errors.js";

/**
 * The certificate to use and its card, from the `cards` result's `cards` list: the certificate the
 * page named (`wanted`, base64 DER, in 9A or 9C of any card), else the first one in `slot` ("9A"),
 * or the first one at all when `slot` is null. Cards are searched in the host's (reader) order.
 * Returns `{reader, slot, certificate, card}`; throws ERR_NO_CARD when no inserted card holds any
 * certificate, ERR_CERTIFICATE_NOT_FOUND when none fits.
 */
export function pickCard(cards, wanted, slot) {
  let anyCertificate = false;
  for (const card of Array.isArray(cards) ? cards : []) {
    const certificates = card && Array.isArray(card.certificates) ? card.certificates : [];
    anyCertificate = anyCertificate || certificates.length > 0;
    const match = certificates.find((c) =>
      typeof wanted === "string" ? c.certificate === wanted : slot === null || c.slot === slot,
    );
    if (match) {
      return { reader: card.reader, slot: match.slot, certificate: match.certificate, card };
    }
  }
  if (!anyCertificate) {
    throw new ExtensionError("ERR_NO_CARD", "Insert your smartcard and try again.");
  }
  throw new ExtensionError("ERR_CERTIFICATE_NOT_FOUND", "The certificate asked for is not on any inserted card.");
}

/**
 * The PIN retries left on `card` (a `cards` entry); a blocked PIN counts as 0 (unlock still needs
 * the window for the new PIN). A card that did not report its counter is ERR_CARD_ERROR, as
 * `pin-status` answers for it.
 */
export function pinRetriesLeft(card) {
  if (card && card.pinBlocked === true) {
    return 0;
  }
  if (card && Number.isInteger(card.pinRetriesLeft)) {
    return card.pinRetriesLeft;
  }
  throw new ExtensionError("ERR_CARD_ERROR", "The card did not report its PIN retry counter.");
}

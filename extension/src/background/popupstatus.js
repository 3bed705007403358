// What the toolbar popup shows: readers, card, holder, certificate expiry, host version.

import { ExtensionError } from "../shared/errors.js";
import { summarise } from "./wasm.js";

const DAY_S = 86_400;
export const EXPIRY_WARNING_DAYS = 90;

export async function popupStatus(host, now = Date.now()) {
  let status;
  try {
    status = await host.request("status", {});
  } catch (e) {
    if (e instanceof ExtensionError) {
      return { error: e.wire };
    }
    throw e;
  }
  const result = { version: status.version, pcsc: status.pcsc, readers: status.readers || [], cards: [] };
  if (status.pcsc !== "available") {
    return result;
  }
  let certificates = [];
  try {
    ({ certificates = [] } = await host.request("certificates", {}));
  } catch (e) {
    result.certificateError = e instanceof ExtensionError ? e.wire : { code: "ERR_INTERNAL", message: String(e) };
  }
  for (const entry of certificates.filter((c) => c.slot === "9A")) {
    const summary = await summarise(entry.certificate);
    if (!summary) {
      continue;
    }
    const daysLeft = Math.floor((summary.notAfter - now / 1000) / DAY_S);
    result.cards.push({
      reader: entry.reader,
      holder: [summary.givenName, summary.surname].filter(Boolean).join(" ") || summary.commonName,
      userId: summary.userId || "",
      notAfter: summary.notAfter,
      daysLeft,
      expiryWarning: daysLeft <= EXPIRY_WARNING_DAYS,
    });
  }
  return result;
}

// The text the popup's "Copy diagnostics" button puts on the clipboard for the IT service desk:
// what the extension knows (its version and ID, the policy in force, the helper's status, readers,
// cards) and where to look next (`carecard-host diagnose`). No PIN, no certificate, no page data.

/** Plain text, one fact per line; `now` is a Date. */
export function diagnosticsText({ manifest, extensionId, managed, status, userAgent, now }) {
  const lines = [];
  lines.push(`carecard diagnostics, ${now.toISOString()}`);
  lines.push(`extension: ${manifest?.version ?? "unknown"} (${extensionId ?? "unknown ID"})`);
  lines.push(`browser: ${userAgent ?? "unknown"}`);
  const policy = managed && typeof managed === "object" ? managed : {};
  if (Object.keys(policy).length === 0) {
    lines.push("policy: none (built-in CIS2 origins)");
  } else {
    for (const key of Object.keys(policy).sort()) {
      lines.push(`policy ${key}: ${JSON.stringify(policy[key])}`);
    }
  }
  if (!status || status.error) {
    const error = (status && status.error) || { code: "ERR_INTERNAL", message: "no answer from the extension" };
    lines.push(`helper: ${error.code} (${error.message})`);
    if (error.code === "ERR_NATIVE_UNAVAILABLE") {
      lines.push("hint: the carecard helper is not installed, not registered for this browser, or not allowed for this extension");
    }
  } else {
    lines.push(`helper: carecard-host ${status.version ?? "unknown"}`);
    lines.push(`smartcard service (PC/SC): ${status.pcsc}`);
    const readers = status.readers || [];
    if (readers.length === 0) {
      lines.push("readers: none");
    }
    for (const reader of readers) {
      lines.push(`reader: ${reader.name}: ${reader.card ? `card, ATR ${reader.card.atr}` : "no card"}`);
    }
    for (const card of status.cards || []) {
      const days = card.daysLeft < 0 ? "expired" : `${card.daysLeft} days left`;
      lines.push(`card: ${card.reader}: ${card.holder}${card.userId ? ` (${card.userId})` : ""}, certificate ${days}`);
    }
    if (status.certificateError) {
      lines.push(`certificates: ${status.certificateError.code} (${status.certificateError.message})`);
    }
  }
  lines.push("more: run `carecard-host diagnose` on this computer (docs/DEPLOY.md)");
  return `${lines.join("\n")}\n`;
}

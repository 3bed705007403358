// The popup's "Copy diagnostics" text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { diagnosticsText } from "../src/popup/diagnostics.js";

const base = {
  manifest: { version: "0.1.0" },
  extensionId: "abcdefghijklmnopabcdefghijklmnop",
  userAgent: "Mozilla/5.0 Chrome/156",
  now: new Date("2026-12-03T10:00:00Z"),
};

test("a working helper: version, policy, readers, cards, and where to look next", () => {
  const text = diagnosticsText({
    ...base,
    managed: { allowedOrigins: ["https://a.example"], logLevel: "debug" },
    status: {
      version: "0.1.0",
      pcsc: "available",
      readers: [{ name: "Reader A", card: { atr: "3B88" } }, { name: "Reader B", card: null }],
      cards: [{ reader: "Reader A", holder: "Alex Tester", userId: "555000000001", daysLeft: 40 }],
    },
  });
  assert.match(text, /^carecard diagnostics, 2026-12-03T10:00:00.000Z\n/);
  assert.match(text, /^extension: 0\.1\.0 \(abcdefghijklmnopabcdefghijklmnop\)$/m);
  assert.match(text, /^policy allowedOrigins: \["https:\/\/a\.example"\]$/m);
  assert.match(text, /^policy logLevel: "debug"$/m);
  assert.match(text, /^helper: carecard-host 0\.1\.0$/m);
  assert.match(text, /^reader: Reader A: card, ATR 3B88$/m);
  assert.match(text, /^reader: Reader B: no card$/m);
  assert.match(text, /^card: Reader A: Alex Tester \(555000000001\), certificate 40 days left$/m);
  assert.match(text, /carecard-host diagnose/);
});

test("no helper: the error and a hint; no policy: the built-in origins", () => {
  const text = diagnosticsText({
    ...base,
    managed: {},
    status: { error: { code: "ERR_NATIVE_UNAVAILABLE", message: "not installed" } },
  });
  assert.match(text, /^policy: none \(built-in CIS2 origins\)$/m);
  assert.match(text, /^helper: ERR_NATIVE_UNAVAILABLE \(not installed\)$/m);
  assert.match(text, /^hint: the carecard helper is not installed/m);
});

test("nothing secret: no PIN, no certificate bytes", () => {
  const text = diagnosticsText({
    ...base,
    managed: {},
    status: { version: "0.1.0", pcsc: "available", readers: [], cards: [], certificate: "MIIB", pin: "123456" },
  });
  assert.doesNotMatch(text, /123456|MIIB/);
  assert.match(text, /^readers: none$/m);
});

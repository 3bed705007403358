// The card and certificate a PIN-window action uses, and the retries its window shows, from one
// `cards` answer (cardpick.js): what used to take `certificates` + `pin-status`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { pickCard, pinRetriesLeft } from "../src/background/cardpick.js";
import { ExtensionError } from "../src/shared/errors.js";

const AUTH_A = "QUFBQS05QQ==";
const SIGN_A = "QUFBQS05Qw==";
const AUTH_B = "QkJCQi05QQ==";
const SIGN_B = "QkJCQi05Qw==";

function piv(reader, certificates, pin = { pinRetriesLeft: 3, pinBlocked: false }) {
  return { reader, atr: "3B88", application: "PIV", certificates, pukRetriesLeft: 10, cardId: null, ...pin };
}

const cardA = piv("Reader A", [
  { slot: "9A", certificate: AUTH_A },
  { slot: "9C", certificate: SIGN_A },
]);
const cardB = piv(
  "Reader B",
  [
    { slot: "9A", certificate: AUTH_B },
    { slot: "9C", certificate: SIGN_B },
  ],
  { pinRetriesLeft: 2, pinBlocked: false },
);
const notPiv = { reader: "Reader N", atr: "3B00", application: null };

function rejectsWith(code, fn) {
  assert.throws(fn, (e) => e instanceof ExtensionError && e.code === code && e.wire.code === code);
}

test("login, change-pin and unlock take the 9A certificate", () => {
  const onlyNineC = piv("Reader C", [{ slot: "9C", certificate: "Q0NDQy05Qw==" }]);
  const entry = pickCard([notPiv, onlyNineC, cardA, cardB], undefined, "9A");
  assert.equal(entry.reader, "Reader A");
  assert.equal(entry.slot, "9A");
  assert.equal(entry.certificate, AUTH_A);
  assert.equal(entry.card, cardA);
});

test("the certificate the page names is found in 9C for sign, on whichever card holds it", () => {
  const entry = pickCard([cardA, cardB], SIGN_B, null);
  assert.deepEqual([entry.reader, entry.slot, entry.certificate], ["Reader B", "9C", SIGN_B]);
  assert.equal(pinRetriesLeft(entry.card), 2);
});

test("a named certificate is matched in 9A too, and wins over the slot", () => {
  const entry = pickCard([cardA, cardB], AUTH_B, "9A");
  assert.deepEqual([entry.reader, entry.slot, entry.certificate], ["Reader B", "9A", AUTH_B]);
  assert.equal(pickCard([cardA, cardB], SIGN_A, "9A").slot, "9C");
});

test("without a name or slot the first certificate of the first card holding one is taken", () => {
  const onlyNineC = piv("Reader C", [{ slot: "9C", certificate: "Q0NDQy05Qw==" }]);
  const entry = pickCard([notPiv, onlyNineC, cardA], undefined, null);
  assert.deepEqual([entry.reader, entry.slot], ["Reader C", "9C"]);
});

test("retries come from pinRetriesLeft; a blocked PIN counts as 0", () => {
  assert.equal(pinRetriesLeft(cardA), 3);
  assert.equal(pinRetriesLeft(piv("R", [], { pinRetriesLeft: 1, pinBlocked: false })), 1);
  assert.equal(pinRetriesLeft(piv("R", [], { pinRetriesLeft: 0, pinBlocked: true })), 0);
  // pinBlocked decides even if a counter is (wrongly) reported beside it.
  assert.equal(pinRetriesLeft(piv("R", [], { pinRetriesLeft: 3, pinBlocked: true })), 0);
});

test("a card that did not report its PIN counter is ERR_CARD_ERROR, as pin-status answered", () => {
  rejectsWith("ERR_CARD_ERROR", () => pinRetriesLeft(piv("R", [], { pinRetriesLeft: null, pinBlocked: false })));
  rejectsWith("ERR_CARD_ERROR", () => pinRetriesLeft(piv("R", [], { pinBlocked: false })));
  rejectsWith("ERR_CARD_ERROR", () => pinRetriesLeft(notPiv));
});

test("no card, or no card with a certificate, is ERR_NO_CARD", () => {
  for (const cards of [[], undefined, null, [notPiv], [piv("Blank", [])]]) {
    rejectsWith("ERR_NO_CARD", () => pickCard(cards, undefined, "9A"));
    rejectsWith("ERR_NO_CARD", () => pickCard(cards, SIGN_A, null));
  }
});

test("a certificate on no inserted card, or no 9A certificate, is ERR_CERTIFICATE_NOT_FOUND", () => {
  rejectsWith("ERR_CERTIFICATE_NOT_FOUND", () => pickCard([cardA, notPiv], SIGN_B, null));
  rejectsWith("ERR_CERTIFICATE_NOT_FOUND", () => pickCard([cardA], AUTH_B, "9A"));
  const onlyNineC = piv("Reader C", [{ slot: "9C", certificate: "Q0NDQy05Qw==" }]);
  rejectsWith("ERR_CERTIFICATE_NOT_FOUND", () => pickCard([onlyNineC, notPiv], undefined, "9A"));
});

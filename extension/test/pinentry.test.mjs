// What the PIN window checks before sending (src/shared/pinentry.js, used by src/pin/pin.js).
import { test } from "node:test";
import assert from "node:assert/strict";
import { entryProblem, isEnteredPin, isNewPin, PIN_KINDS } from "../src/shared/pinentry.js";

test("change PIN: current PIN 4–8 characters, new PIN 6–8 digits typed twice the same", () => {
  assert.equal(entryProblem("change-pin", { pin: "123456", newPin: "654321", confirmPin: "654321" }), null);
  assert.equal(entryProblem("change-pin", { pin: "1234", newPin: "65432109", confirmPin: "65432109" }), null);
  assert.match(entryProblem("change-pin", { pin: "123456", newPin: "654321", confirmPin: "654322" }), /different/);
  assert.match(entryProblem("change-pin", { pin: "123456", newPin: "65432", confirmPin: "65432" }), /6 to 8 digits/);
  assert.match(entryProblem("change-pin", { pin: "123456", newPin: "654321098", confirmPin: "654321098" }), /6 to 8 digits/);
  assert.match(entryProblem("change-pin", { pin: "123456", newPin: "65432a", confirmPin: "65432a" }), /6 to 8 digits/);
  assert.match(entryProblem("change-pin", { pin: "123", newPin: "654321", confirmPin: "654321" }), /current PIN/);
  assert.match(entryProblem("change-pin", { pin: "123456", newPin: "123456", confirmPin: "123456" }), /different from your current/);
});

test("unlock asks only the new PIN, twice", () => {
  assert.equal(PIN_KINDS.unlock.pin, false);
  assert.equal(entryProblem("unlock", { pin: "", newPin: "135790", confirmPin: "135790" }), null);
  assert.match(entryProblem("unlock", { newPin: "135790", confirmPin: "135791" }), /different/);
  assert.match(entryProblem("unlock", { newPin: "1357", confirmPin: "1357" }), /6 to 8 digits/);
});

test("login, signing and confirm-with-PIN ask one PIN of 4–8 characters", () => {
  for (const kind of ["authenticate", "sign", "confirm"]) {
    assert.equal(entryProblem(kind, { pin: "1234" }), null, kind);
    assert.equal(entryProblem(kind, { pin: "abcd1234" }), null, kind);
    assert.match(entryProblem(kind, { pin: "123" }), /4 to 8/, kind);
    assert.match(entryProblem(kind, { pin: "123456789" }), /4 to 8/, kind);
  }
  assert.equal(isEnteredPin("12\n4"), false);
  assert.equal(isNewPin("１２３４５６"), false, "only ASCII digits");
});

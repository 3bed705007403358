// The wasm build of carecard-protocol as the worker uses it. Needs ./build first (skipped otherwise).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";

const glue = new URL("../wasm/carecard_protocol.js", import.meta.url);
const built = existsSync(glue);

async function load() {
  const wasm = await import(glue.href);
  wasm.initSync({ module: readFileSync(new URL("../wasm/carecard_protocol_bg.wasm", import.meta.url)) });
  return wasm;
}

const NONCE = "A".repeat(43) + "=";

test("validateRequest inserts the derived origin and drops the page's", { skip: !built && "run ./build first" }, async () => {
  const wasm = await load();
  const args = JSON.parse(wasm.validateRequest("authenticate", JSON.stringify({ challengeNonce: NONCE, origin: "https://evil.example" }), "https://am.nhsidentity.spineservices.nhs.uk", false));
  assert.equal(args.origin, "https://am.nhsidentity.spineservices.nhs.uk");
  assert.equal(args.challengeNonce, NONCE);
  assert.equal(args.pin, undefined);
  const status = JSON.parse(wasm.validateRequest("status", JSON.stringify({ origin: "https://x.example" }), "https://x.example", false));
  assert.equal(status.origin, undefined);
});

test("validateRequest rejects bad nonces, PINs and http origins", { skip: !built && "run ./build first" }, async () => {
  const wasm = await load();
  const code = (fn) => {
    try {
      fn();
      return "ok";
    } catch (e) {
      return e.code;
    }
  };
  assert.equal(code(() => wasm.validateRequest("authenticate", JSON.stringify({ challengeNonce: "short" }), "https://a.example", false)), "ERR_INVALID_REQUEST");
  assert.equal(code(() => wasm.validateRequest("authenticate", JSON.stringify({ challengeNonce: NONCE, pin: "12" }), "https://a.example", false)), "ERR_PIN_FORMAT");
  assert.equal(code(() => wasm.validateRequest("status", "", "http://localhost:8443", false)), "ERR_INVALID_REQUEST");
  assert.equal(code(() => wasm.validateRequest("status", "", "http://localhost:8443", true)), "ok");
  assert.equal(code(() => wasm.validateRequest("nonsense", "", "https://a.example", false)), "ERR_UNKNOWN_COMMAND");
  assert.equal(wasm.validateOrigin("https://A.example:443", false), "https://a.example");
  assert.equal(wasm.protocolVersion(), 1);
  assert.equal(code(() => wasm.certificateSummary("not base64!")), "ERR_INVALID_REQUEST");
});

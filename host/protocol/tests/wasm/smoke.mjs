// Smoke test of the wasm exports as JavaScript sees them (thrown error objects, JSON strings).
//
// Run (the extension's build uses `--target web`; `nodejs` glue exercises the same module):
//   cargo build -p carecard-protocol --target wasm32-unknown-unknown --features wasm
//   wasm-bindgen --target nodejs --out-dir "$OUT" target/wasm32-unknown-unknown/debug/carecard_protocol.wasm
//   node host/protocol/tests/wasm/smoke.mjs "$OUT/carecard_protocol.js"
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import path from "node:path";

const glue = process.argv[2];
if (!glue) {
  console.error("usage: node smoke.mjs <path to wasm-bindgen nodejs glue>");
  process.exit(2);
}
const wasm = createRequire(import.meta.url)(path.resolve(glue));

const NONCE = "q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs=";

function thrown(fn) {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail("did not throw");
}

assert.equal(wasm.protocolVersion(), 1);

assert.equal(wasm.validateOrigin("HTTPS://Example.NHS.uk:443", false), "https://example.nhs.uk");
let e = thrown(() => wasm.validateOrigin("http://example.nhs.uk", false));
assert.equal(e.code, "ERR_INVALID_REQUEST");
assert.match(e.message, /https/);
// A plain object, so it crosses extension messaging intact.
assert.equal(Object.getPrototypeOf(e), Object.prototype);
assert.deepEqual(structuredClone(e), { code: e.code, message: e.message });
assert.equal(wasm.validateOrigin("http://localhost:8080", true), "http://localhost:8080");

const args = JSON.parse(
  wasm.validateRequest(
    "authenticate",
    JSON.stringify({ challengeNonce: NONCE, origin: "https://evil.example" }),
    "https://am.nhsidentity.spineservices.nhs.uk",
    false,
  ),
);
assert.deepEqual(args, {
  origin: "https://am.nhsidentity.spineservices.nhs.uk",
  challengeNonce: NONCE,
});

e = thrown(() => wasm.validateRequest("change-pin", '{"newPin": "12ab56"}', "https://a.nhs.uk", false));
assert.equal(e.code, "ERR_PIN_FORMAT");
// Duplicate keys are refused at any depth (JSON.parse would let the last one win).
for (const dup of [
  `{"challengeNonce": "${NONCE}", "challengeNonce": "${NONCE}"}`,
  `{"challengeNonce": "${NONCE}", "pin": "1234", "pin": "5678"}`,
  `{"challengeNonce": "${NONCE}", "x": [{"a": 1, "\\u0061": 2}]}`,
]) {
  e = thrown(() => wasm.validateRequest("authenticate", dup, "https://a.nhs.uk", false));
  assert.equal(e.code, "ERR_INVALID_REQUEST", dup);
  assert.match(e.message, /duplicate/, dup);
}
// prove-possession's list of proofs (one PIN for several keys) crosses as nested JSON, normalised.
const CHALLENGE = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
assert.deepEqual(
  JSON.parse(wasm.validateRequest("prove-possession", JSON.stringify({
    session: "s-0123456789abcdef", purpose: "renew",
    proofs: [{ slot: "9A", challenge: CHALLENGE, generate: "P256", extra: 1 }, { slot: "9C", challenge: CHALLENGE }],
  }), "https://a.nhs.uk", false)),
  { session: "s-0123456789abcdef", proofs: [{ slot: "9A", challenge: CHALLENGE, generate: "P256" }, { slot: "9C", challenge: CHALLENGE }] },
);
e = thrown(() => wasm.validateRequest("prove-possession",
  JSON.stringify({ session: "s-0123456789abcdef", proofs: [{ slot: "9A", challenge: CHALLENGE }, { slot: "9A", challenge: CHALLENGE }] }),
  "https://a.nhs.uk", false));
assert.equal(e.code, "ERR_INVALID_REQUEST");
e = thrown(() => wasm.validateRequest("erase-card", "{}", "https://a.nhs.uk", false));
assert.equal(e.code, "ERR_UNKNOWN_COMMAND");
e = thrown(() => wasm.validateRequest("authenticate", '{"challengeNonce": "x"}', "https://a.nhs.uk", false));
assert.equal(e.code, "ERR_INVALID_REQUEST");

// An openssl-made P-384 certificate: CN=Jane Doe, GN=Jane, SN=Doe, serialNumber=123456789012.
const CERT =
  "MIICIDCCAaagAwIBAgIUAOjRFWJnMQ4bH0Z6r2JX8KlaHNUwCgYIKoZIzj0EAwIwRzERMA8GA1UEAwwISmFuZSBEb2UxDTALBgNVBCoMBEphbmUxDDAKBgNVBAQMA0RvZTEVMBMGA1UEBRMMMTIzNDU2Nzg5MDEyMB4XDTI2MTEyNTEwMTYxOFoXDTI3MTEyNTEwMTYxOFowRzERMA8GA1UEAwwISmFuZSBEb2UxDTALBgNVBCoMBEphbmUxDDAKBgNVBAQMA0RvZTEVMBMGA1UEBRMMMTIzNDU2Nzg5MDEyMHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE8SMKCe+bMXduF8dLeK2UxKjMb5lDNzYUHi2JozLQcrUBWQlxOPGGX28evcpNuyNyvrw6bUbcfidVSXmlulUgADKyMQjKmNVE+/Lpck/ljT45KY+1ZxBGsZZJ1rpiukSxo1MwUTAdBgNVHQ4EFgQUT+ZCplkp2hOEyvITLoI3sy326GIwHwYDVR0jBBgwFoAUT+ZCplkp2hOEyvITLoI3sy326GIwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNoADBlAjEAp657+PgzfHhyfy8SFHd4q5JsuYDd+fNRWlZK/3VkrWDcxlj6kjMZGedOdgCLgIkJAjAcovIFMCcMJRXqAYczN5DwGAf/ToQGOqdXKHhbr/uURybzsL2+fDEq1a5glJODeYs=";
assert.deepEqual(JSON.parse(wasm.certificateSummary(CERT)), {
  commonName: "Jane Doe",
  givenName: "Jane",
  surname: "Doe",
  userId: "123456789012",
  notBefore: 1795601778,
  notAfter: 1827137778,
  key: { type: "p384" },
});
e = thrown(() => wasm.certificateSummary("AQID"));
assert.equal(e.code, "ERR_INVALID_REQUEST");

console.log("wasm smoke: ok");

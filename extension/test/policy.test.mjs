// The worker's policy reader against a fake chrome: a slow chrome.storage.managed (as while the
// browser starts) gives a stand-in answer that serves only an unpacked install's developer hosts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { isServedOrigin, DEFAULT_LOGIN_ORIGINS } from "../src/shared/origins.js";

let releaseManaged;
let managedReads = 0;
globalThis.chrome = {
  storage: {
    managed: {
      get: () => {
        managedReads += 1;
        return new Promise((resolve) => {
          releaseManaged = resolve;
        });
      },
    },
    onChanged: { addListener() {} },
  },
  management: { getSelf: async () => ({ installType: "development" }) },
};
const { currentPolicy, policyWithin } = await import("../src/background/policy.js");

test("a slow managed read: a stand-in that is not final, then the policy itself", async () => {
  const early = await policyWithin(30);
  assert.equal(early.final, false);
  assert.ok(isServedOrigin("http://localhost:8443", early.policy), "an unpacked install's developer host");
  assert.ok(!isServedOrigin(DEFAULT_LOGIN_ORIGINS[0], early.policy), "the policy may have removed a built-in origin");
  assert.ok(!isServedOrigin("https://added.trust.example", early.policy));
  const pending = currentPolicy();
  assert.equal(managedReads, 1, "callers share the read in flight");
  releaseManaged({ allowedOrigins: ["https://added.trust.example"], developerMode: false });
  const policy = await pending;
  assert.deepEqual(policy.allowedOrigins, ["https://added.trust.example"]);
  const late = await policyWithin(30);
  assert.equal(late.final, true);
  assert.ok(isServedOrigin("https://added.trust.example", late.policy));
  assert.ok(!isServedOrigin("http://localhost:8443", late.policy), "the policy turned developer mode off");
  assert.equal(managedReads, 1, "cached");
});

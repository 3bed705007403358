import { test } from "node:test";
import assert from "node:assert/strict";
import {
  originOfUrl, originOfSender, normaliseOriginEntry, isOriginAllowed, isDeveloperOrigin, effectivePolicy,
  DEFAULT_LOGIN_ORIGINS, DEFAULT_CARD_MANAGEMENT_ORIGINS,
} from "../src/shared/origins.js";

test("originOfUrl drops path, query, fragment, default port and case", () => {
  assert.equal(originOfUrl("https://AM.nhsidentity.spineservices.nhs.uk:443/login?x=1#y"), "https://am.nhsidentity.spineservices.nhs.uk");
  assert.equal(originOfUrl("http://localhost:8443/page"), "http://localhost:8443");
  assert.equal(originOfUrl("https://user:pw@example.org/"), "https://example.org");
  assert.equal(originOfUrl("file:///etc/passwd"), null);
  assert.equal(originOfUrl("chrome-extension://abc/pin.html"), null);
  assert.equal(originOfUrl("data:text/html,hi"), null);
  assert.equal(originOfUrl("not a url"), null);
  assert.equal(originOfUrl(undefined), null);
});

test("originOfSender prefers sender.origin, then the frame URL, then the tab URL", () => {
  assert.equal(originOfSender({ origin: "https://a.example", url: "https://b.example/", tab: { url: "https://c.example/" } }), "https://a.example");
  assert.equal(originOfSender({ origin: "null", url: "https://b.example/x", tab: { url: "https://c.example/" } }), "https://b.example");
  assert.equal(originOfSender({ tab: { url: "https://c.example/p" } }), "https://c.example");
  assert.equal(originOfSender({}), null);
  assert.equal(originOfSender(null), null);
});

test("policy entries must be bare origins", () => {
  assert.equal(normaliseOriginEntry("https://Example.org/"), "https://example.org");
  assert.equal(normaliseOriginEntry("https://example.org:443"), null, "a default port written out is not the origin as the browser reports it");
  assert.equal(normaliseOriginEntry("https://example.org/path"), null);
  assert.equal(normaliseOriginEntry("https://example.org?q"), null);
  assert.equal(normaliseOriginEntry("https://u@example.org"), null);
  assert.equal(normaliseOriginEntry("*.example.org"), null);
  assert.equal(normaliseOriginEntry(42), null);
});

test("allow-list matching is exact and https-only", () => {
  const list = ["https://am.nhsidentity.spineservices.nhs.uk"];
  assert.ok(isOriginAllowed("https://am.nhsidentity.spineservices.nhs.uk", list, false));
  assert.ok(!isOriginAllowed("https://evil.am.nhsidentity.spineservices.nhs.uk", list, false));
  assert.ok(!isOriginAllowed("https://am.nhsidentity.spineservices.nhs.uk.evil.com", list, false));
  assert.ok(!isOriginAllowed("http://am.nhsidentity.spineservices.nhs.uk", list, true));
  assert.ok(!isOriginAllowed("https://am.nhsidentity.spineservices.nhs.uk:8443", list, false));
  assert.ok(!isOriginAllowed(null, list, true));
});

test("developer hosts only in developer mode", () => {
  assert.ok(isDeveloperOrigin("http://localhost:8443"));
  assert.ok(isDeveloperOrigin("http://127.0.0.1"));
  assert.ok(!isDeveloperOrigin("https://localhost"));
  assert.ok(!isDeveloperOrigin("http://localhost.evil.com"));
  assert.ok(!isDeveloperOrigin("http://127.0.0.2"));
  assert.ok(isOriginAllowed("http://localhost:8443", [], true));
  assert.ok(!isOriginAllowed("http://localhost:8443", [], false));
  assert.ok(!isOriginAllowed("http://localhost:8443", ["http://localhost:8443"], false), "a policy entry cannot enable http");
});

test("effective policy: defaults, replacement and developer mode", () => {
  const d = effectivePolicy(undefined, false);
  assert.deepEqual(d.allowedOrigins, [...DEFAULT_LOGIN_ORIGINS]);
  assert.deepEqual(d.cardManagementOrigins, [...DEFAULT_CARD_MANAGEMENT_ORIGINS]);
  assert.equal(d.developerMode, false);
  const p = effectivePolicy({ allowedOrigins: ["https://x.example/", "bad entry"], cardManagementOrigins: [] }, false);
  assert.deepEqual(p.allowedOrigins, ["https://x.example"]);
  assert.deepEqual(p.cardManagementOrigins, []);
  assert.equal(effectivePolicy({}, true).developerMode, true, "unpacked install");
  assert.equal(effectivePolicy({ developerMode: true }, false).developerMode, true);
  assert.equal(effectivePolicy({ developerMode: false }, true).developerMode, false, "policy can forbid it");
  assert.equal(effectivePolicy({ developerMode: "yes" }, false).developerMode, false);
});

test("log levels filter by the policy's level", async () => {
  const { setLogLevel, logEnabled } = await import("../src/shared/log.js");
  setLogLevel("info");
  assert.ok(logEnabled("error") && logEnabled("info") && !logEnabled("debug"));
  setLogLevel("off");
  assert.ok(!logEnabled("error"));
  setLogLevel("nonsense");
  assert.ok(logEnabled("warn") && !logEnabled("info"), "unknown level → warn");
  assert.ok(!logEnabled("off"));
});

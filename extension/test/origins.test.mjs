import { test } from "node:test";
import assert from "node:assert/strict";
import {
  originOfUrl, originOfSender, originRefusalMessage, isServedOrigin, normaliseOriginEntry, isOriginAllowed, isDeveloperOrigin, effectivePolicy,
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

test("originOfSender takes the browser's sender.origin and nothing else", () => {
  assert.equal(originOfSender({ origin: "https://a.example", url: "https://b.example/", tab: { url: "https://c.example/" } }), "https://a.example");
  assert.equal(originOfSender({ origin: "https://A.example:443" }), "https://a.example");
  // No origin reported (Chrome >= 80 always reports one): refuse rather than guess from URLs.
  assert.equal(originOfSender({ url: "https://b.example/x", tab: { url: "https://c.example/p" } }), null);
  assert.equal(originOfSender({}), null);
  assert.equal(originOfSender(null), null);
});

test("an opaque-origin sender (sandboxed frame or document, data: URL) does not borrow the URL's origin", () => {
  const allowed = "https://am.nhsidentity.spineservices.nhs.uk";
  // A page served with `Content-Security-Policy: sandbox` on an allow-listed origin, or a sandboxed iframe there.
  assert.equal(originOfSender({ origin: "null", url: `${allowed}/upload/1`, tab: { url: `${allowed}/` } }), null);
  assert.equal(originOfSender({ origin: "null", url: "data:text/html,x", tab: { url: `${allowed}/` } }), null);
  assert.equal(originOfSender({ origin: "file://", url: "file:///tmp/x.html" }), null);
  const message = originRefusalMessage(null);
  assert.match(message, /sandbox/i);
  assert.match(message, /may not use your smartcard/);
  assert.match(originRefusalMessage("https://evil.example"), /https:\/\/evil\.example\) may not use your smartcard/);
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

test("served origins: the policy's login and card-management lists, developer hosts in developer mode", () => {
  const policy = effectivePolicy({}, false);
  for (const origin of [...DEFAULT_LOGIN_ORIGINS, ...DEFAULT_CARD_MANAGEMENT_ORIGINS]) {
    assert.ok(isServedOrigin(origin, policy), origin);
  }
  assert.ok(!isServedOrigin("https://example.org", policy));
  assert.ok(!isServedOrigin("http://localhost:8443", policy));
  assert.ok(isServedOrigin("http://localhost:8443", effectivePolicy({}, true)));
  assert.ok(!isServedOrigin(null, effectivePolicy({}, true)), "an opaque origin is never served");
  const custom = effectivePolicy({ allowedOrigins: ["https://login.trust.example"], cardManagementOrigins: ["https://cards.trust.example"] }, false);
  assert.ok(isServedOrigin("https://login.trust.example", custom));
  assert.ok(isServedOrigin("https://cards.trust.example", custom));
  assert.ok(!isServedOrigin(DEFAULT_LOGIN_ORIGINS[0], custom), "a policy list replaces the defaults");
});

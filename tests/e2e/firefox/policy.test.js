// The enterprise-policy install in Debian's Firefox ESR: manifests/policies/firefox/policies.json
// (filled in) in <install dir>/distribution/, bind-mounted from a temporary folder in a private
// mount namespace (tests/e2e/lib/firefox.js), so the machine's Firefox is never touched.
// ExtensionSettings force-installs the add-on from an .xpi with no user action; 3rdparty.Extensions
// is the add-on's storage.managed; a login then works only because the policy turned developer
// mode on (a policy-installed add-on is no temporary one).
//
// The .xpi is the unsigned Firefox build: ESR honours xpinstall.signatures.required=false, which
// the test sets. Production installs use the AMO-signed .xpi and leave signatures required.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, startSite, launchFirefox, firefoxPinWindow, firefoxExtensionDir, firefoxExtensionId, repo } from "../lib/firefox.js";

// The add-on's internal UUID (moz-extension://<uuid>/), fixed so the test can open its pages.
const UUID = "2b0b6c6e-5a8d-4b7e-9a51-0c1f1a1e7c01";
const MANAGED = {
  allowedOrigins: ["https://policy.example"],
  cardManagementOrigins: ["https://manage.policy.example"],
  developerMode: true,
  logLevel: "debug",
};

let stack;
let site;
let ff;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "carecard-e2e-firefox-policy-"));
  const xpi = join(dir, "carecard.xpi");
  execFileSync("python3", ["-c",
    "import shutil,sys,os; os.replace(shutil.make_archive(sys.argv[1], 'zip', sys.argv[2]), sys.argv[3])",
    join(dir, "carecard"), firefoxExtensionDir, xpi]);
  // The template an administrator fills in, with the test's .xpi and settings.
  const text = readFileSync(join(repo, "manifests", "policies", "firefox", "policies.json"), "utf8")
    .replaceAll("@FIREFOX_INSTALL_URL@", `file://${xpi}`);
  const policies = JSON.parse(text);
  assert.ok(policies.policies.ExtensionSettings[firefoxExtensionId], "the template force-installs carecard@carecard.org");
  policies.policies["3rdparty"].Extensions[firefoxExtensionId] = MANAGED;
  stack = await startStack({ algorithm: "p256" });
  site = await startSite(stack);
  ff = await launchFirefox(stack, {
    extension: false,
    policies,
    prefs: {
      "xpinstall.signatures.required": false,
      "extensions.webextensions.uuids": JSON.stringify({ [firefoxExtensionId]: UUID }),
    },
  });
});

after(async () => {
  await ff?.close();
  await site?.stop();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `expression` in a tab showing the add-on's popup page (its own extension context). */
async function inExtension(expression) {
  const conn = ff.browser.connection;
  const deadline = Date.now() + 15000;
  for (;;) {
    const { result: tab } = await conn.send("browsingContext.create", { type: "tab" });
    try {
      await conn.send("browsingContext.navigate", { context: tab.context, url: `moz-extension://${UUID}/popup.html`, wait: "complete" });
      const { result } = await conn.send("script.evaluate", {
        expression, target: { context: tab.context }, awaitPromise: true, resultOwnership: "none",
      });
      if (result.type === "success") return JSON.parse(result.result.value);
      throw new Error(result.exceptionDetails?.text ?? "exception");
    } catch (e) {
      // The add-on may still be installing when the browser starts.
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    } finally {
      await conn.send("browsingContext.close", { context: tab.context }).catch(() => {});
    }
  }
}

test("Firefox policy: ExtensionSettings force-installs the add-on with no user action", async () => {
  const self = await inExtension("(async () => JSON.stringify(await chrome.management.getSelf()))()");
  assert.equal(self.id, firefoxExtensionId);
  assert.equal(self.installType, "admin");
  assert.equal(self.enabled, true);
  const version = JSON.parse(readFileSync(join(firefoxExtensionDir, "manifest.json"), "utf8")).version;
  assert.equal(self.version, version);
});

test("Firefox policy: storage.managed is the policy's 3rdparty.Extensions entry", async () => {
  const managed = await inExtension("(async () => JSON.stringify(await chrome.storage.managed.get(null)))()");
  assert.deepEqual(managed, MANAGED);
});

test("Firefox policy: the policy's developer mode lets the localhost mock site log in", async () => {
  const page = await ff.browser.newPage();
  await page.goto(`${site.origin}/`);
  await page.click("#login");
  const win = await firefoxPinWindow(ff.browser);
  await win.type("#pin", "123456", { enter: true });
  await page.waitForFunction(() => location.pathname === "/home", { timeout: 20000, polling: 100 });
  await page.close();
});

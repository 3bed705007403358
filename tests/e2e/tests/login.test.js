// Logging in to the mock CIS2 site through Chromium, the extension, the host and the virtual card.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, startSite, launchBrowser, pinWindow, artifactPath, extensionId } from "../lib/harness.js";

const HOLDER = /\S+ \S+/; // "<given> <family>" from the virtual card's certificate

let stack;
let site;
let browser;

before(async () => {
  stack = await startStack({ algorithm: "p256" });
  site = await startSite(stack);
  browser = await launchBrowser(stack);
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await stack?.stop();
});

async function openLogin() {
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/`);
  return page;
}

async function submitPin(pin) {
  const win = await pinWindow(browser.context);
  await win.locator("#pin").fill(pin);
  await win.locator("#pin").press("Enter");
  return win;
}

test("a clinician logs in with the card and sees their name and user ID", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await pinWindow(browser.context);
  assert.match(await win.locator("#origin").innerText(), new RegExp(site.origin.replace(/[.:/]/g, "\\$&")));
  assert.match(await win.locator("#holder").innerText(), HOLDER);
  await win.locator("#pin").fill("123456");
  await win.locator("#pin").press("Enter");
  await page.waitForURL(`${site.origin}/home`, { timeout: 20000 });
  assert.match(await page.locator("#name").innerText(), HOLDER);
  assert.match(await page.locator("#user-id").innerText(), /^\d{12}$/);
  await page.screenshot({ path: artifactPath("logged-in.png") });
  await page.close();
});

test("a wrong PIN shows the retries left and the right PIN then logs in", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await submitPin("000000");
  await win.locator("#retries").filter({ hasText: "2" }).waitFor({ timeout: 10000 });
  await win.locator("#pin").fill("123456");
  await win.locator("#pin").press("Enter");
  await page.waitForURL(`${site.origin}/home`, { timeout: 20000 });
  await page.close();
});

test("Escape in the PIN window cancels and the page is told", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await pinWindow(browser.context);
  await win.locator("#pin").press("Escape");
  await page.locator("#status").filter({ hasText: "ERR_USER_CANCELLED" }).waitFor({ timeout: 10000 });
  assert.equal(new URL(page.url()).pathname, "/");
  await page.close();
});

test("removing the card logs the session out", async () => {
  const page = await openLogin();
  await page.click("#login");
  await submitPin("123456");
  await page.waitForURL(`${site.origin}/home`, { timeout: 20000 });
  // The page says when it is watching the card; a removal before that is checked by the page itself.
  await page.locator('body[data-watching-card="true"]').waitFor({ state: "attached", timeout: 10000 });
  await stack.removeCard();
  await page.waitForURL((url) => url.pathname === "/", { timeout: 15000 });
  await page.locator("#status").filter({ hasText: /card was removed/i }).waitFor({ timeout: 5000 });
  await stack.insertCard();
  await page.close();
});

test("two tabs logging in at once both succeed", async (t) => {
  // Two sites (two browser sessions: a site keeps one open challenge per session, as Web eID's
  // reference servers do), both talking to the one extension, host and card at the same time.
  const other = await startSite(stack, { host: "127.0.0.1" });
  t.after(() => other.stop());
  const a = await openLogin();
  const b = await browser.context.newPage();
  await b.goto(`${other.origin}/`);
  await Promise.all([a.click("#login"), b.click("#login")]);
  // The extension asks for one PIN at a time (the card is used by one operation at a time), so
  // the second window may only open after the first login is done: answer windows as they come.
  const answered = new Set();
  for (let i = 0; i < 2; i += 1) {
    const win = await nextPinWindow(answered);
    answered.add(win);
    await win.locator("#pin").fill("123456");
    await win.locator("#pin").press("Enter");
  }
  const results = await Promise.allSettled([
    a.waitForURL(`${site.origin}/home`, { timeout: 30000 }),
    b.waitForURL(`${other.origin}/home`, { timeout: 30000 }),
  ]);
  for (const [i, r] of results.entries()) {
    const page = [a, b][i];
    const status = r.status === "fulfilled" ? "" : await page.locator("#status").innerText().catch(() => "?");
    assert.equal(r.status, "fulfilled", `tab ${i + 1} did not log in: ${status}`);
  }
  assertCardOperationsSerialised(readFileSync(join(browser.logDir, "carecard-host.log"), "utf8"));
  await a.close();
  await b.close();
});

/**
 * Both logins went through one host process (request ids never repeat) and no card operation
 * started before the previous one had answered, so their APDUs cannot have interleaved.
 */
function assertCardOperationsSerialised(log) {
  const seen = new Set();
  let open = null;
  let authentications = 0;
  for (const line of log.split("\n")) {
    const m = /dispatch: request (\d+): (.+)$/.exec(line);
    if (!m) continue;
    const [, id, what] = m;
    if (/^ok in |^ERR_\w+ in | refused$/.test(what)) {
      if (open === id) open = null;
      continue;
    }
    assert.ok(!seen.has(id), `request id ${id} seen twice: more than one host process served the tabs`);
    seen.add(id);
    assert.equal(open, null, `request ${id} (${what}) started while request ${open} was still running`);
    open = id;
    if (what === "authenticate") authentications += 1;
  }
  assert.ok(authentications >= 2, `expected two authentications in the host log, saw ${authentications}`);
}

/** The first open PIN window not in `answered`, waiting for one to open if need be. */
async function nextPinWindow(answered) {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const open = browser.context.pages().find((p) => p.url().includes("/pin.html") && !answered.has(p) && !p.isClosed());
    if (open) {
      await open.locator("#pin").waitFor({ timeout: 5000 });
      return open;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no PIN window opened");
}

test("the toolbar popup shows the reader and the card holder", async () => {
  const popup = await browser.context.newPage();
  await popup.goto(`chrome-extension://${extensionId}/popup.html`);
  await popup.locator("#holder").filter({ hasText: HOLDER }).waitFor({ timeout: 15000 });
  assert.match(await popup.locator("#readers").innerText(), /Virtual PCD/);
  assert.match(await popup.locator("#expiry").innerText(), /\d+ days/);
  await popup.screenshot({ path: artifactPath("popup.png") });
  await popup.close();
});

test("three wrong PINs block the card and the page is told", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await submitPin("000000");
  // Earlier tests left the counter at 3; each wrong entry is one VERIFY, never retried by the host.
  for (const left of ["2", "1"]) {
    await win.locator("#retries").filter({ hasText: left }).waitFor({ timeout: 10000 });
    if (left === "1") break;
    await win.locator("#pin").fill("000000");
    await win.locator("#pin").press("Enter");
  }
  await win.locator("#pin").fill("000000");
  await win.locator("#pin").press("Enter");
  await page.locator("#status").filter({ hasText: "ERR_PIN_BLOCKED" }).waitFor({ timeout: 10000 });
  await page.close();
});

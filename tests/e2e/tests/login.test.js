// Logging in to the mock CIS2 site through Chromium, the extension, the host and the virtual card.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
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
  await stack.removeCard();
  await page.waitForURL(`${site.origin}/`, { timeout: 15000 });
  await page.locator("#status").filter({ hasText: /card was removed/i }).waitFor({ timeout: 5000 });
  await stack.insertCard();
  await page.close();
});

test("two tabs logging in at once both succeed", async () => {
  const [a, b] = [await openLogin(), await openLogin()];
  const seen = new Set();
  const windows = [];
  const collect = async () => {
    while (windows.length < 2) {
      const win = await browser.context.waitForEvent("page", { timeout: 15000 });
      await win.waitForURL(/\/pin\.html/, { timeout: 5000 });
      if (!seen.has(win)) {
        seen.add(win);
        windows.push(win);
      }
    }
  };
  const collecting = collect();
  await Promise.all([a.click("#login"), b.click("#login")]);
  await collecting;
  for (const win of windows) {
    await win.locator("#pin").fill("123456");
    await win.locator("#pin").press("Enter");
  }
  await Promise.all([
    a.waitForURL(`${site.origin}/home`, { timeout: 30000 }),
    b.waitForURL(`${site.origin}/home`, { timeout: 30000 }),
  ]);
  await a.close();
  await b.close();
});

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

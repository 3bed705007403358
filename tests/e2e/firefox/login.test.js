// The same extension and host in Debian's Firefox ESR, driven over WebDriver BiDi (puppeteer-core):
// a login through the PIN window, a wrong PIN, card removal logging the session out, and an https
// origin outside the allow-list getting no answer. Run by `scripts/test e2e-firefox`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, startSite, artifactPath, launchFirefox, firefoxPinWindow, firefoxExtensionDir } from "../lib/firefox.js";
import { startHttpsSite, statusOutcome, authenticateOutcome, extensionAnswers } from "../lib/pages.js";

const HOLDER = /\S+ \S+/; // "<given> <family>" from the virtual card's certificate

let stack;
let site;
let ff;

before(async () => {
  stack = await startStack({ algorithm: "p256" });
  site = await startSite(stack);
  // foreign.example resolves to this machine (the refused-origin test's https site).
  ff = await launchFirefox(stack, { prefs: { "network.dns.localDomains": "foreign.example" } });
});

after(async () => {
  await ff?.close();
  await site?.stop();
  await stack?.stop();
});

async function openLogin() {
  const page = await ff.browser.newPage();
  await page.goto(`${site.origin}/`);
  return page;
}

function waitForPath(page, path, timeout = 20000) {
  return page.waitForFunction((p) => location.pathname === p, { timeout, polling: 100 }, path);
}

function statusText(page) {
  return page.$eval("#status", (e) => e.textContent).catch(() => "?");
}

test("Firefox: a clinician logs in with the card and sees their name and user ID", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await firefoxPinWindow(ff.browser);
  assert.ok(win.url.startsWith("moz-extension://"), win.url);
  assert.ok((await win.text("#origin")).includes(site.origin), await win.text("#origin"));
  assert.match(await win.text("#holder"), HOLDER);
  await win.type("#pin", "123456", { enter: true });
  await waitForPath(page, "/home").catch(async (e) => {
    throw new Error(`not logged in (${await statusText(page)}): ${e.message}`);
  });
  assert.match(await page.$eval("#name", (e) => e.textContent), HOLDER);
  assert.match(await page.$eval("#user-id", (e) => e.textContent), /^\d{12}$/);
  await page.screenshot({ path: artifactPath("firefox-logged-in.png") });
  // The host knew its caller was Firefox's add-on.
  const log = readFileSync(join(ff.logDir, "carecard-host.log"), "utf8");
  assert.match(log, /started \S+ for Firefox add-on carecard@carecard\.org \(host manifest \S+org\.carecard\.host\.json\)/);
  await page.close();
});

test("Firefox: a wrong PIN shows the retries left and the right PIN then logs in", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await firefoxPinWindow(ff.browser);
  await win.type("#pin", "000000", { enter: true });
  await win.waitFor("/2/.test(document.querySelector('#retries').innerText)", 10000);
  assert.ok(await win.isOpen(), "the window stays open after a wrong PIN");
  await win.evaluate("document.querySelector('#pin').value = ''");
  await win.type("#pin", "123456", { enter: true });
  await waitForPath(page, "/home");
  await page.close();
});

test("Firefox: removing the card logs the session out", async () => {
  const page = await openLogin();
  await page.click("#login");
  const win = await firefoxPinWindow(ff.browser);
  await win.type("#pin", "123456", { enter: true });
  await waitForPath(page, "/home");
  await page.waitForSelector('body[data-watching-card="true"]', { timeout: 10000 });
  await stack.removeCard();
  await waitForPath(page, "/", 15000);
  await page.waitForFunction(() => /card was removed/i.test(document.querySelector("#status")?.textContent ?? ""),
    { timeout: 5000, polling: 100 });
  await stack.insertCard();
  await page.close();
});

test("Firefox: an https origin outside the allow-list gets no answer at all and no PIN window", async () => {
  const foreign = await startHttpsSite({ commonName: "foreign.example", extensionDir: firefoxExtensionDir, title: "not CIS2" });
  const page = await ff.browser.newPage();
  try {
    await page.goto(`${foreign.origin}/`);
    const answers = await extensionAnswers(page, "authenticate", { challengeNonce: "A".repeat(43) + "=" });
    assert.deepEqual(answers, [], "the content script stays silent outside the allow-list");
    assert.equal(await authenticateOutcome(page), "ERR_EXTENSION_UNAVAILABLE");
    await assert.rejects(firefoxPinWindow(ff.browser, 500), /no PIN window/);
  } finally {
    await page.close();
    await foreign.close();
  }
});

test("Firefox: a page served sandboxed on an allow-listed origin gets no answer and no PIN window", async () => {
  // The sender's origin is what the worker trusts: Firefox must report "null" for an opaque-origin
  // document even though its URL is on an allow-listed (developer-mode localhost) origin.
  const library = readFileSync(join(firefoxExtensionDir, "page", "carecard.js"));
  const server = createHttpServer((req, res) => {
    if (req.url === "/carecard.js") {
      res.writeHead(200, { "content-type": "text/javascript", "access-control-allow-origin": "*" });
      res.end(library);
    } else if (req.url === "/sandboxed") {
      res.writeHead(200, { "content-type": "text/html", "content-security-policy": "sandbox allow-scripts" });
      res.end("<!doctype html><title>sandboxed</title><p>sandboxed page</p>");
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<!doctype html><title>control</title><p>control</p>");
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const base = `http://localhost:${server.address().port}`;
  try {
    const control = await ff.browser.newPage();
    await control.goto(`${base}/`);
    assert.equal(await statusOutcome(control), "resolved", "the origin itself is served");
    await control.close();

    const page = await ff.browser.newPage();
    await page.goto(`${base}/sandboxed`);
    assert.equal(await page.evaluate(() => self.origin), "null", "the document's origin is opaque");
    const answers = await page.evaluate(async () => {
      const seen = [];
      window.addEventListener("message", (e) => {
        if (e.data && e.data.source === "carecard-extension") seen.push(e.data.type);
      });
      window.postMessage({ carecard: 1, source: "carecard-page", type: "request", requestId: "raw1",
        action: "authenticate", arguments: { challengeNonce: "A".repeat(43) + "=" } }, "*");
      await new Promise((r) => setTimeout(r, 3000));
      return seen;
    });
    assert.deepEqual(answers, [], "nothing is answered to an opaque-origin document");
    assert.equal(await statusOutcome(page), "ERR_EXTENSION_UNAVAILABLE");
    await assert.rejects(firefoxPinWindow(ff.browser, 500), /no PIN window/);
    await page.close();
  } finally {
    await new Promise((r) => server.close(r));
  }
});

// Issue 8, the extension's half, in the real browser: documents with an opaque origin on an
// allow-listed site get no service, and PIN windows come one at a time with a pause after Cancel.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, launchBrowser, extensionDir } from "../lib/harness.js";
import { statusOutcome } from "../lib/pages.js";

const NONCE = "A".repeat(43) + "=";

let stack;
let pages;
let browser;

/**
 * A tiny site on http://localhost:<port> and http://127.0.0.1:<port> (both allow-listed in
 * developer mode) with the page library, a page served with `Content-Security-Policy: sandbox`
 * (an opaque-origin document at an allow-listed URL) and a page framing a sandboxed iframe.
 */
async function startPages() {
  const library = readFileSync(join(extensionDir, "page", "carecard.js"));
  const html = (body) => `<!doctype html><meta charset="utf-8"><title>carecard e2e</title>${body}`;
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/carecard.js") {
      // Opaque-origin documents load modules in CORS mode.
      res.writeHead(200, { "content-type": "text/javascript", "access-control-allow-origin": "*" });
      res.end(library);
    } else if (path === "/sandboxed") {
      res.writeHead(200, { "content-type": "text/html", "content-security-policy": "sandbox allow-scripts" });
      res.end(html("<p>sandboxed page</p>"));
    } else if (path === "/framed") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(html('<p>framing page</p><iframe id="frame" sandbox="allow-scripts" src="/inner"></iframe>'));
    } else {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(html(`<p>${path}</p>`));
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  return {
    localhost: `http://localhost:${port}`,
    loopback: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(r)),
  };
}

before(async () => {
  stack = await startStack({ algorithm: "p256" });
  pages = await startPages();
  browser = await launchBrowser(stack);
});

after(async () => {
  await browser?.close();
  await pages?.close();
  await stack?.stop();
});

const pinPages = () => browser.context.pages().filter((p) => p.url().includes("/pin.html") && !p.isClosed());

/**
 * In `target`: posts a hand-made authenticate request (no ping first, as a hostile page would)
 * to `where` ("self" or "parent") and collects every carecard answer for `waitMs`.
 */
function rawAuthenticate(target, where, waitMs = 3000) {
  return target.evaluate(
    async ({ where, nonce, waitMs }) => {
      const answers = [];
      window.addEventListener("message", (e) => {
        if (e.data && e.data.source === "carecard-extension") answers.push(e.data);
      });
      const request = {
        carecard: 1, source: "carecard-page", type: "request", requestId: "raw1",
        action: "authenticate", arguments: { challengeNonce: nonce },
      };
      (where === "parent" ? window.parent : window).postMessage(request, "*");
      await new Promise((r) => setTimeout(r, waitMs));
      return answers;
    },
    { where, nonce: NONCE, waitMs },
  );
}

test("a page served sandboxed on an allow-listed origin gets no PIN window and no service", async () => {
  const control = await browser.context.newPage();
  await control.goto(`${pages.localhost}/`);
  assert.equal(await statusOutcome(control), "resolved", "the origin itself is allow-listed");
  await control.close();

  const page = await browser.context.newPage();
  await page.goto(`${pages.localhost}/sandboxed`);
  assert.equal(await page.evaluate(() => self.origin), "null", "the document's origin is opaque");
  const answers = await rawAuthenticate(page, "self");
  assert.deepEqual(answers, [], "nothing is answered to an opaque-origin document");
  assert.equal(pinPages().length, 0, "no PIN window may open for a document without an origin");
  assert.equal(await statusOutcome(page), "ERR_EXTENSION_UNAVAILABLE");
  await page.close();
});

test("a sandboxed iframe on an allow-listed page gets no PIN window and no service", async () => {
  const page = await browser.context.newPage();
  await page.goto(`${pages.localhost}/framed`);
  const frame = page.frames().find((f) => f.url().endsWith("/inner"));
  assert.ok(frame, "the sandboxed frame loaded");
  assert.equal(await frame.evaluate(() => self.origin), "null");
  assert.deepEqual(await rawAuthenticate(frame, "self", 1500), []);
  assert.deepEqual(await rawAuthenticate(frame, "parent", 1500), [], "the top page's bridge ignores other windows");
  assert.equal(pinPages().length, 0);
  assert.equal(await statusOutcome(frame), "ERR_EXTENSION_UNAVAILABLE");
  await page.close();
});

/** Starts carecard.authenticate in `page` and keeps its outcome in window.__outcome. */
function startAuthenticate(page) {
  return page.evaluate((nonce) => {
    window.__outcome = import("/carecard.js").then((c) =>
      c.authenticate({ challengeNonce: nonce }).then(() => "resolved", (e) => e.code),
    );
  }, NONCE);
}

async function waitForPinWindow(except = new Set(), timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const win = pinPages().find((p) => !except.has(p));
    if (win) {
      await win.locator("#origin").filter({ hasText: /http/ }).waitFor({ timeout: 5000 });
      return win;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("no PIN window opened");
}

test("PIN windows come one at a time across tabs, and a page that calls again after Cancel waits", async () => {
  const a = await browser.context.newPage();
  await a.goto(`${pages.localhost}/a`);
  const b = await browser.context.newPage();
  await b.goto(`${pages.loopback}/b`);

  await startAuthenticate(a);
  const first = await waitForPinWindow();
  assert.equal(await first.locator("#origin").innerText(), pages.localhost);
  await startAuthenticate(b);
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(pinPages().length, 1, "the second tab's PIN window waits while the first is open");

  await first.locator("#pin").press("Escape");
  assert.equal(await a.evaluate(() => window.__outcome), "ERR_USER_CANCELLED");
  const second = await waitForPinWindow(new Set([first]));
  assert.equal(await second.locator("#origin").innerText(), pages.loopback, "then the other tab's window opens");

  // The second page cancels and calls again at once, as a page looping windows would.
  await b.evaluate((nonce) => {
    window.__again = window.__outcome.then(async (code) => {
      window.__calledAgainAt = Date.now();
      const c = await import("/carecard.js");
      return [code, await c.authenticate({ challengeNonce: nonce }).then(() => "resolved", (e) => e.code)];
    });
  }, NONCE);
  await second.locator("#pin").press("Escape");
  const third = await waitForPinWindow(new Set([first, second]));
  const openedAt = Date.now();
  const calledAt = await b.evaluate(() => window.__calledAgainAt);
  assert.ok(openedAt - calledAt >= 1500, `the next window opened ${openedAt - calledAt} ms after the call; expected a pause of about 2 s`);
  assert.ok(openedAt - calledAt < 15000, `the pause was ${openedAt - calledAt} ms`);
  await third.locator("#pin").press("Escape");
  assert.deepEqual(await b.evaluate(() => window.__again), ["ERR_USER_CANCELLED", "ERR_USER_CANCELLED"]);
  await a.close();
  await b.close();
});

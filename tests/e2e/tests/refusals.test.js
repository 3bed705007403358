// What the page is told when it may not, or cannot, use the card.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, startSite, launchBrowser, extensionDir, extensionId } from "../lib/harness.js";
import { startHttpsSite, statusOutcome, authenticateOutcome, extensionAnswers } from "../lib/pages.js";

let stack;
let site;

before(async () => {
  stack = await startStack({ algorithm: "p256" });
  site = await startSite(stack);
});

after(async () => {
  await site?.stop();
  await stack?.stop();
});

test("an https origin outside the allow-list gets no answer at all, so it cannot detect carecard", async () => {
  const foreign = await startHttpsSite({ commonName: "foreign.example", extensionDir, title: "not CIS2" });
  const browser = await launchBrowser(stack, {
    extraArgs: ["--host-resolver-rules=MAP foreign.example 127.0.0.1", "--ignore-certificate-errors"],
  });
  try {
    // The allow-listed site (developer mode: localhost) is served in this browser...
    const allowed = await browser.context.newPage();
    await allowed.goto(`${site.origin}/`);
    assert.equal(await statusOutcome(allowed), "resolved");
    await allowed.close();

    // ...but the foreign site: no pong to a ping, no answer to a request, no page library to fetch.
    const page = await browser.context.newPage();
    await page.goto(`https://foreign.example:${foreign.port}/`);
    const answers = await extensionAnswers(page, "status");
    assert.deepEqual(answers, [], "the content script stays silent outside the allow-list");
    assert.equal(await authenticateOutcome(page), "ERR_EXTENSION_UNAVAILABLE");
    const fetched = await page.evaluate(async (url) => {
      try {
        const res = await fetch(url);
        return res.ok ? "fetched" : `http ${res.status}`;
      } catch {
        return "blocked";
      }
    }, `chrome-extension://${extensionId}/page/carecard.js`);
    assert.equal(fetched, "blocked", "page/carecard.js is not web-accessible to other sites");
    // No PIN window may have been opened for it.
    assert.equal(browser.context.pages().filter((p) => p.url().includes("/pin.html")).length, 0);
  } finally {
    await browser.close();
    await foreign.close();
  }
});

test("without the native host installed the page gets ERR_NATIVE_UNAVAILABLE", async () => {
  const browser = await launchBrowser(stack, { host: false });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    assert.equal(await statusOutcome(page), "ERR_NATIVE_UNAVAILABLE");
  } finally {
    await browser.close();
  }
});

test("a page in a browser without the extension gets ERR_EXTENSION_UNAVAILABLE", async () => {
  const browser = await launchBrowser(stack, { extension: false });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    assert.equal(await authenticateOutcome(page), "ERR_EXTENSION_UNAVAILABLE");
  } finally {
    await browser.close();
  }
});

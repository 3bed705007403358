// What the page is told when it may not, or cannot, use the card.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:https";
import { readFileSync, mkdtempSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, startSite, launchBrowser, extensionDir, extensionId } from "../lib/harness.js";

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

/** Runs carecard.authenticate in the page and returns the error code it rejected with. */
async function authenticateErrorCode(page) {
  return page.evaluate(async () => {
    const carecard = await import("/carecard.js");
    try {
      await carecard.authenticate({ challengeNonce: "A".repeat(43) + "=" });
      return "resolved";
    } catch (err) {
      return err.code;
    }
  });
}

/** An https site on a name the extension does not allow, serving the same page library. */
async function startForeignSite() {
  const dir = mkdtempSync(join(tmpdir(), "carecard-foreign-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
    "-nodes", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1",
    "-subj", "/CN=foreign.example"], { stdio: "ignore" });
  const library = readFileSync(join(extensionDir, "page", "carecard.js"));
  const server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
    (req, res) => {
      if (req.url === "/carecard.js") {
        res.writeHead(200, { "content-type": "text/javascript" });
        res.end(library);
      } else {
        res.writeHead(200, { "content-type": "text/html" });
        res.end("<!doctype html><title>not CIS2</title><p>foreign</p>");
      }
    });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

test("an https origin outside the allow-list gets no answer at all, so it cannot detect carecard", async () => {
  const foreign = await startForeignSite();
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
    const answers = await page.evaluate(async () => {
      const seen = [];
      window.addEventListener("message", (e) => {
        if (e.data && e.data.source === "carecard-extension") seen.push(e.data.type);
      });
      const base = { carecard: 1, source: "carecard-page" };
      window.postMessage({ ...base, type: "ping", requestId: "probe1" }, window.location.origin);
      window.postMessage({ ...base, type: "request", requestId: "probe2", action: "status", arguments: {} }, window.location.origin);
      await new Promise((r) => setTimeout(r, 3000));
      return seen;
    });
    assert.deepEqual(answers, [], "the content script stays silent outside the allow-list");
    assert.equal(await authenticateErrorCode(page), "ERR_EXTENSION_UNAVAILABLE");
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

/** carecard.status() in the page: "resolved" or the code it failed with. */
function statusOutcome(page) {
  return page.evaluate(async () => {
    const carecard = await import("/carecard.js");
    try {
      await carecard.status();
      return "resolved";
    } catch (err) {
      return err.code;
    }
  });
}

test("without the native host installed the page gets ERR_NATIVE_UNAVAILABLE", async () => {
  const browser = await launchBrowser(stack, { host: false });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    const code = await page.evaluate(async () => {
      const carecard = await import("/carecard.js");
      try {
        await carecard.status();
        return "resolved";
      } catch (err) {
        return err.code;
      }
    });
    assert.equal(code, "ERR_NATIVE_UNAVAILABLE");
  } finally {
    await browser.close();
  }
});

test("a page in a browser without the extension gets ERR_EXTENSION_UNAVAILABLE", async () => {
  const browser = await launchBrowser(stack, { extension: false });
  try {
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);
    assert.equal(await authenticateErrorCode(page), "ERR_EXTENSION_UNAVAILABLE");
  } finally {
    await browser.close();
  }
});

// Small web sites and page probes the browser tests share (Chromium and Firefox alike): an https
// site under any name with the page library, and what carecard.js answers in a page.
import { createServer } from "node:https";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * An https site on 127.0.0.1 with a throw-away certificate for `commonName` (the browser maps the
 * name to 127.0.0.1 and accepts the certificate): `/carecard.js` is the page library from
 * `extensionDir`, every other path a page titled `title`. Returns `{port, origin, close}`, where
 * `origin` is `https://<commonName>:<port>`.
 */
export async function startHttpsSite({ commonName, extensionDir, title = "carecard e2e" }) {
  const dir = mkdtempSync(join(tmpdir(), "carecard-site-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1",
    "-subj", `/CN=${commonName}`], { stdio: "ignore" });
  const library = readFileSync(join(extensionDir, "page", "carecard.js"));
  const page = `<!doctype html><title>${title}</title><p>${title}</p>`;
  const server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) },
    (req, res) => {
      const js = req.url === "/carecard.js";
      res.writeHead(200, { "content-type": js ? "text/javascript" : "text/html" });
      res.end(js ? library : page);
    });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const port = server.address().port;
  return {
    port,
    origin: `https://${commonName}:${port}`,
    close: async () => {
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** In `target` (a page or frame, Playwright or Puppeteer): carecard.status() — "resolved" or the code it failed with. */
export function statusOutcome(target) {
  return target.evaluate(async () => {
    const carecard = await import("/carecard.js");
    try {
      await carecard.status();
      return "resolved";
    } catch (err) {
      return err.code;
    }
  });
}

/** In `target`: carecard.authenticate() with a fixed nonce — "resolved" or the code it failed with. */
export function authenticateOutcome(target) {
  return target.evaluate(async () => {
    const carecard = await import("/carecard.js");
    try {
      await carecard.authenticate({ challengeNonce: "A".repeat(43) + "=" });
      return "resolved";
    } catch (err) {
      return err.code;
    }
  });
}

/**
 * In `target`: what the extension answers a page that pings and sends `action` by hand (no page
 * library), collected for 3 s — the message types, [] when the content script stays silent.
 */
export function extensionAnswers(target, action, args = {}) {
  return target.evaluate(async ([name, params]) => {
    const seen = [];
    window.addEventListener("message", (e) => {
      if (e.data && e.data.source === "carecard-extension") seen.push(e.data.type);
    });
    const base = { carecard: 1, source: "carecard-page" };
    window.postMessage({ ...base, type: "ping", requestId: "probe1" }, window.location.origin);
    window.postMessage({ ...base, type: "request", requestId: "probe2", action: name, arguments: params }, window.location.origin);
    await new Promise((r) => setTimeout(r, 3000));
    return seen;
  }, [action, args]);
}

// Debian's Firefox ESR with the real extension (extension/dist-firefox, built by
// `extension/build --browser firefox`) and the real carecard-host, driven over WebDriver BiDi by
// puppeteer-core (no browser download). The extension is installed with BiDi
// `webExtension.install` (a temporary add-on, so its installType is "development": developer mode,
// which lets the http://localhost mock site in). The host manifest goes where Firefox looks for a
// user's hosts, `$HOME/.mozilla/native-messaging-hosts/`, with HOME a fresh folder of the test.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import puppeteer from "puppeteer-core";
import { repo, binDir } from "./harness.js";

export { startStack, startSite, artifactPath, repo } from "./harness.js";

export const firefoxExtensionId = "carecard@carecard.org";
export const firefoxExtensionDir = process.env.CARECARD_FIREFOX_EXTENSION || join(repo, "extension", "dist-firefox");
const firefoxPath = process.env.FIREFOX || "/usr/lib/firefox-esr/firefox-esr";

/**
 * Firefox with the extension installed and the host registered for it. `host: false` leaves the
 * host unregistered; `extension: false` installs nothing.
 */
export async function launchFirefox(stack, { host = true, extension = true, prefs = {}, policies = null } = {}) {
  if (extension && !existsSync(join(firefoxExtensionDir, "manifest.json"))) {
    throw new Error(`${firefoxExtensionDir} is missing: run extension/build --browser firefox`);
  }
  const dir = mkdtempSync(join(tmpdir(), "carecard-e2e-firefox-"));
  const home = join(dir, "home");
  const profile = join(dir, "profile");
  const logDir = join(dir, "host-logs");
  mkdirSync(profile, { recursive: true });
  const hosts = join(home, ".mozilla", "native-messaging-hosts");
  mkdirSync(hosts, { recursive: true });
  const hostConfig = join(dir, "host.json");
  writeFileSync(hostConfig, JSON.stringify({
    allowedExtensionIds: [], allowedFirefoxExtensions: [firefoxExtensionId], developerMode: true, logLevel: "trace",
  }));
  if (host) {
    writeFileSync(join(hosts, "org.carecard.host.json"), JSON.stringify({
      name: "org.carecard.host",
      description: "carecard smartcard host (Firefox e2e test)",
      path: join(binDir, "carecard-host"),
      type: "stdio",
      allowed_extensions: [firefoxExtensionId],
    }));
  }
  // Enterprise policies: Firefox reads <install dir>/distribution/policies.json (no /etc/firefox
  // policies exist on the test machines). Firefox runs in a private mount namespace with a folder
  // of the test bind-mounted there, so the machine's own files are never touched.
  let executablePath = firefoxPath;
  if (policies) {
    const dist = join(dir, "distribution");
    mkdirSync(dist);
    writeFileSync(join(dist, "policies.json"), JSON.stringify(policies, null, 2));
    executablePath = join(dir, "firefox-with-policies");
    writeFileSync(executablePath, `#!/bin/sh
exec unshare -m sh -c 'mount --make-rprivate / && mount --bind "$0" "$1" && shift && exec "$@"' '${dist}' '${join(dirname(firefoxPath), "distribution")}' '${firefoxPath}' "$@"
`, { mode: 0o755 });
  }
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath,
    headless: true,
    userDataDir: profile,
    // Lets BiDi see the extension's own windows (the PIN window is a moz-extension:// page).
    args: ["--remote-allow-system-access"],
    dumpio: Boolean(process.env.CARECARD_FIREFOX_DUMPIO),
    env: {
      ...process.env,
      ...stack.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      CARECARD_LOG_DIR: logDir,
      CARECARD_LOG_LEVEL: "trace",
      CARECARD_CONFIG: hostConfig,
      MOZ_CRASHREPORTER_DISABLE: "1",
    },
    extraPrefsFirefox: {
      // No first-run pages, updates, telemetry or remote settings: only the test's traffic.
      "app.update.disabledForTesting": true,
      "browser.shell.checkDefaultBrowser": false,
      "datareporting.policy.dataSubmissionEnabled": false,
      "toolkit.telemetry.enabled": false,
      ...prefs,
    },
    // The refused-origin test serves https with a throw-away certificate.
    acceptInsecureCerts: true,
  });
  if (extension) {
    const id = await browser.installExtension(firefoxExtensionDir);
    if (id !== firefoxExtensionId) throw new Error(`installed ${id}, expected ${firefoxExtensionId}`);
  }
  return {
    browser,
    logDir,
    dir,
    close: async () => {
      await browser.close().catch(() => {});
      if (!process.env.CARECARD_KEEP_PROFILE) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The extension's PIN window, a moz-extension:// popup window. Firefox reports it over BiDi
 * (`browsingContext.getTree`), but puppeteer-core 25 does not make a page of a context created
 * in a new window by an extension, so the window is driven with BiDi commands directly:
 * `script.evaluate` to read it and `input.performActions` to type, as a person would.
 */
export async function firefoxPinWindow(browser, timeoutMs = 15000) {
  const conn = browser.connection;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { result } = await conn.send("browsingContext.getTree", {});
    const found = result.contexts.find((c) => c.url.startsWith("moz-extension://") && c.url.includes("/pin.html"));
    if (found) {
      const win = new BidiWindow(conn, found.context, found.url);
      await win.waitFor("document.readyState === 'complete' && !!document.querySelector('#pin')", timeoutMs);
      return win;
    }
    if (Date.now() > deadline) throw new Error(`no PIN window within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

class BidiWindow {
  constructor(conn, context, url) {
    this.conn = conn;
    this.context = context;
    this.url = url;
  }

  async evaluate(expression) {
    const { result } = await this.conn.send("script.evaluate", {
      expression, target: { context: this.context }, awaitPromise: true, resultOwnership: "none",
    });
    if (result.type === "exception") throw new Error(`${expression}: ${result.exceptionDetails.text}`);
    return result.result.value;
  }

  async waitFor(expression, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (await this.evaluate(`Boolean(${expression})`)) return;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      if (Date.now() > deadline) throw new Error(`PIN window: ${expression} not true within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  text(selector) {
    return this.evaluate(`document.querySelector(${JSON.stringify(selector)})?.innerText ?? null`);
  }

  /** Focuses `selector` and types `text` key by key, then `Enter` if asked. */
  async type(selector, text, { enter = false } = {}) {
    await this.evaluate(`document.querySelector(${JSON.stringify(selector)}).focus()`);
    const keys = [...text, ...(enter ? ["\uE007"] : [])];
    await this.conn.send("input.performActions", {
      context: this.context,
      actions: [{
        type: "key", id: "keyboard",
        actions: keys.flatMap((k) => [{ type: "keyDown", value: k }, { type: "keyUp", value: k }]),
      }],
    });
  }

  /** Whether the window is still open. */
  async isOpen() {
    const { result } = await this.conn.send("browsingContext.getTree", {});
    return result.contexts.some((c) => c.context === this.context);
  }
}

/** Waits until `fn` (run in the page) is truthy. */
export function waitInPage(page, fn, timeoutMs = 20000, ...args) {
  return page.waitForFunction(fn, { timeout: timeoutMs, polling: 100 }, ...args);
}

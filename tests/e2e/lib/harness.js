// Starts the real parts for one end-to-end test: an isolated PC/SC stack with a virtual card
// (carecard-stack, from tests/support), the mock CIS2 site, and Debian's Chromium with the real
// extension and the real carecard-host registered through a host manifest in a fresh profile.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const binDir = process.env.CARECARD_BIN_DIR || join(repo, "target", "debug");
export const extensionDir = join(repo, "extension");
export const extensionId = "pggklkelfcagmclfcaejdknbclgpeaco";
export const artifactsDir = process.env.CARECARD_ARTIFACTS || join(repo, "artifacts", "e2e");
const chromiumPath = process.env.CHROMIUM || "/usr/lib/chromium/chromium";

/** A line-oriented child process speaking JSON lines on stdout. */
class JsonLineChild {
  constructor(command, args, options = {}) {
    this.child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], ...options });
    this.lines = [];
    this.waiters = [];
    createInterface({ input: this.child.stdout }).on("line", (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
    this.exited = new Promise((res) => this.child.on("exit", res));
  }

  nextLine(timeoutMs = 30000) {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no answer from ${this.child.spawnfile} in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((line) => {
        clearTimeout(timer);
        res(line);
      });
    });
  }

  async command(text) {
    this.child.stdin.write(`${text}\n`);
    const reply = JSON.parse(await this.nextLine());
    if (reply.error) throw new Error(`${text}: ${reply.error}`);
    return reply;
  }

  async stop() {
    if (this.child.exitCode === null) {
      this.child.stdin.end();
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
      await this.exited;
      clearTimeout(timer);
    }
  }
}

/** An isolated pcscd + vpcd with a freshly initialised virtual card inserted. */
export async function startStack({ algorithm = "p256" } = {}) {
  const stack = new JsonLineChild(join(binDir, "carecard-stack"), ["--algorithm", algorithm]);
  const info = JSON.parse(await stack.nextLine(60000));
  return {
    info,
    env: { PCSCLITE_CSOCK_NAME: info.socket },
    removeCard: () => stack.command("remove"),
    insertCard: () => stack.command("insert"),
    stop: () => stack.stop(),
  };
}

function freePort() {
  return new Promise((res, rej) => {
    import("node:net").then(({ createServer }) => {
      const srv = createServer();
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address();
        srv.close(() => res(port));
      });
      srv.on("error", rej);
    });
  });
}

async function waitForHttp(url, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The mock CIS2 site trusting the stack's test CA, on http://localhost:<port> (developer mode). */
export async function startSite(stack, { host = "localhost" } = {}) {
  const port = await freePort();
  const origin = `http://${host}:${port}`;
  const child = spawn(
    join(binDir, "mock-cis2"),
    ["--listen", `127.0.0.1:${port}`, "--ca", stack.info.card.caDer, "--carecard-js",
      join(extensionDir, "page", "carecard.js"), "--origin", origin],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  await waitForHttp(`http://127.0.0.1:${port}/healthz`);
  return {
    origin,
    port,
    stop: async () => {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.on("exit", r)));
    },
  };
}

/**
 * Chromium with the extension; `host: false` leaves the native host unregistered; `headless:
 * false` shows the window (the demo on a desktop); `handleSignals: false` stops Playwright from
 * closing the browser and exiting on Ctrl-C, so the caller can stop everything in order.
 * `extensionPath` loads another copy of the extension (e.g. an older build, to show a test fails there).
 */
export async function launchBrowser(
  stack,
  { host = true, extension = true, extraArgs = [], headless = true, handleSignals = true, extensionPath = extensionDir } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "carecard-e2e-"));
  const profile = join(dir, "profile");
  const logDir = join(dir, "host-logs");
  mkdirSync(join(profile, "NativeMessagingHosts"), { recursive: true });
  // An explicit host config: the development extension, developer mode for the http://localhost
  // mock site. (The host reads it where no system config exists; a system config it only narrows.)
  const hostConfig = join(dir, "host.json");
  writeFileSync(hostConfig, JSON.stringify({
    allowedExtensionIds: [extensionId], developerMode: true, logLevel: "trace",
  }));
  if (host) {
    writeFileSync(join(profile, "NativeMessagingHosts", "org.carecard.host.json"), JSON.stringify({
      name: "org.carecard.host",
      description: "carecard smartcard host (e2e test)",
      path: join(binDir, "carecard-host"),
      type: "stdio",
      allowed_origins: [`chrome-extension://${extensionId}/`],
    }));
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless,
    handleSIGINT: handleSignals,
    handleSIGTERM: handleSignals,
    handleSIGHUP: handleSignals,
    ignoreDefaultArgs: ["--disable-extensions"],
    args: [
      "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      ...(extension ? [`--load-extension=${extensionPath}`, `--disable-extensions-except=${extensionPath}`] : []),
      ...extraArgs,
    ],
    env: {
      ...process.env,
      ...stack.env,
      CARECARD_LOG_DIR: logDir,
      CARECARD_LOG_LEVEL: "trace",
      CARECARD_CONFIG: hostConfig,
    },
  });
  let [worker] = context.serviceWorkers();
  if (!worker && extension) worker = await context.waitForEvent("serviceworker", { timeout: 15000 });
  return {
    context,
    worker,
    logDir,
    close: async () => {
      await context.close();
      if (!process.env.CARECARD_KEEP_PROFILE) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for the extension's PIN window to open and returns its page. */
export async function pinWindow(context, timeoutMs = 15000) {
  const existing = context.pages().find((p) => p.url().includes("/pin.html"));
  if (existing) return existing;
  const page = await context.waitForEvent("page", {
    predicate: (p) => p.url().includes("/pin.html"),
    timeout: timeoutMs,
  });
  await page.waitForLoadState("domcontentloaded");
  return page;
}

export function artifactPath(name) {
  if (!existsSync(artifactsDir)) mkdirSync(artifactsDir, { recursive: true });
  return join(artifactsDir, name);
}

// Starts the real parts for one end-to-end test: an isolated PC/SC stack with a virtual card
// (carecard-stack, from tests/support), the mock CIS2 site, and Debian's Chromium with the real
// extension and the real carecard-host registered through a host manifest in a fresh profile.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync, rmSync } from "node:fs";
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

/**
 * The mock CIS2 site trusting the stack's test CA, on http://localhost:<port> (developer mode).
 * `manage: true` also serves card management under /manage, issuing under the same CA (the
 * card's `ca.key`); `testHooks` adds its test-only API; `origin` overrides the public origin
 * (e.g. an https name a proxy serves it under).
 */
export async function startSite(stack, { host = "localhost", manage = false, testHooks = false, origin: publicOrigin } = {}) {
  const port = await freePort();
  const origin = publicOrigin ?? `http://${host}:${port}`;
  const child = spawn(
    join(binDir, "mock-cis2"),
    ["--listen", `127.0.0.1:${port}`, "--ca", stack.info.card.caDer, "--carecard-js",
      join(extensionDir, "page", "carecard.js"), "--origin", origin,
      ...(manage ? ["--ca-key", join(stack.info.card.dir, "ca.key")] : []),
      ...(testHooks ? ["--test-hooks"] : [])],
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

/**
 * Another virtual card in reader `Virtual PCD 00 0<slot>` of the stack (vpcd port + slot).
 * `blank: true` empties it as a card fresh from the factory (no keys, certificates, CHUID or
 * CCC; default PIN, PUK and management key), for RA issue. Returns `{dir, state, remove()}`.
 */
export async function insertExtraCard(stack, { slot = 1, algorithm = "p256", name = "Jamie Second", userId = "555000000002", blank = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "carecard-card-"));
  await run(join(binDir, "carecard-vcard"), ["init", "--dir", dir, "--algorithm", algorithm, "--name", name, "--user-id", userId]);
  const state = join(dir, "card.json");
  if (blank) {
    const card = JSON.parse(readFileSync(state, "utf8"));
    card.keys = {};
    card.objects = {};
    writeFileSync(state, JSON.stringify(card), { mode: 0o600 });
  }
  const reader = `Virtual PCD 00 0${slot}`;
  const serve = spawn(join(binDir, "carecard-vcard"), ["serve", "--state", state, "--port", String(stack.info.port + slot)],
    { stdio: ["ignore", "ignore", "inherit"] });
  const exited = new Promise((r) => serve.on("exit", r));
  const waitFor = (card) => run(join(binDir, "carecard-stack"), ["wait", "--reader", reader, "--card", card, "--timeout-ms", "15000"],
    { env: { ...process.env, ...stack.env } });
  await waitFor("present");
  return {
    dir, state, reader,
    remove: async () => {
      if (serve.exitCode === null) {
        serve.kill("SIGTERM");
        await exited;
      }
      await waitFor("absent");
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function run(command, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"], ...options });
    let out = "";
    child.stdout.on("data", (d) => { out += d; });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(" ")} exited ${code}`))));
  });
}

/**
 * An https front for a local http site (a self-signed certificate made with openssl; launch the
 * browser with --ignore-certificate-errors and --host-resolver-rules mapping the name to it).
 */
export async function startHttpsProxy(targetPort) {
  const { execFileSync } = await import("node:child_process");
  const { createServer } = await import("node:https");
  const { request } = await import("node:http");
  const dir = mkdtempSync(join(tmpdir(), "carecard-tls-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
    "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=carecard-test"], { stdio: "ignore" });
  const server = createServer({ key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) }, (req, res) => {
    const upstream = request({ host: "127.0.0.1", port: targetPort, path: req.url, method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => { res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    close: async () => {
      server.closeAllConnections?.();
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The carecard-host processes this browser started: those whose environment names its host log
 * folder (so a test never touches another test's or the machine's hosts).
 */
export function hostPids(logDir) {
  const pids = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (!cmdline.split("\0")[0].endsWith("/carecard-host")) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(`CARECARD_LOG_DIR=${logDir}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/** Kills (SIGKILL) the hosts this browser started and waits until they are gone. */
export async function killHosts(logDir) {
  const pids = hostPids(logDir);
  for (const pid of pids) process.kill(pid, "SIGKILL");
  const alive = (pid) => {
    try {
      return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z "); // a zombie is dead
    } catch {
      return false; // gone (reaped)
    }
  };
  const deadline = Date.now() + 5000;
  while (pids.some(alive)) {
    if (Date.now() > deadline) throw new Error(`host processes ${pids} did not die`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pids.length;
}

// The browser half of scripts/bench: what a CIS2 page waits for, measured in the page with
// performance.now(), through Chromium, the real extension, the real carecard-host, pcscd and the
// virtual card.
//
//   node bench.js [--algorithm rsa2048|p256|p384] [--logins N] [--status-calls N]
//                 [--pkcs11-ms X] [--host-auth-ms X] [--summary FILE]
//
// - carecard.status(): page → content script → worker → host → back, no PIN window;
// - carecard.authenticate(): the whole call, and the call minus the time the PIN window waits
//   for the user: (a) from the call until the PIN window's field is ready for typing, plus
//   (b) from the Enter key in the PIN window until the token is in the page.
// (a) and (b) each compare instants taken in two documents, so both use the system clock
// (Date.now(), 1 ms steps): performance.timeOrigin + now() is per renderer process in Chromium and
// was seen 30-40 ms apart between the page and the PIN window, which made (b) negative. Their sum does
// not depend on that: it is the page's call time minus the PIN window's own ready → Enter time.
// --pkcs11-ms / --host-auth-ms (criterion's medians, from scripts/bench) add ratio columns.
// Host requests per login are counted in the host's log ("request N: <command>" lines) over the
// timed logins. --summary writes the figures as JSON (scripts/bench merges it into
// artifacts/bench/summary.json).
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startStack, startSite, launchBrowser } from "./lib/harness.js";

const PIN = "123456";
const TIMEOUT_MS = 20000;

function parseArgs(argv) {
  const options = { algorithm: "p256", logins: 30, statusCalls: 100, pkcs11Ms: null, hostAuthMs: null, summary: null };
  const numeric = { "--logins": "logins", "--status-calls": "statusCalls", "--pkcs11-ms": "pkcs11Ms", "--host-auth-ms": "hostAuthMs" };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (i + 1 >= argv.length) throw new Error(`${arg} needs a value (or is unknown)`);
    const value = argv[(i += 1)];
    if (arg === "--algorithm") {
      options.algorithm = value;
    } else if (arg === "--summary") {
      options.summary = value;
    } else if (numeric[arg]) {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${arg} takes a positive number, not '${value}'`);
      options[numeric[arg]] = n;
    } else {
      throw new Error(`unknown argument '${arg}'`);
    }
  }
  if (!["rsa2048", "p256", "p384"].includes(options.algorithm)) {
    throw new Error("--algorithm must be rsa2048, p256 or p384");
  }
  return options;
}

/**
 * Runs in every page of the context before its own scripts; only the PIN window uses it. Notes
 * when the PIN field becomes usable (the window shows who asks, and the field is shown, enabled
 * and has the keyboard focus, so typing goes into it) and when Enter goes down, on this
 * document's clock.
 */
function pinWindowProbe() {
  if (!location.pathname.endsWith("/pin.html")) return;
  // The system clock: the page's instants are compared with these (see the top of the file).
  const now = () => Date.now();
  const probe = { readyAt: null, enterAt: null, observer: null, late: false };
  window.__carecardBench = probe;
  const ready = () => {
    const pin = document.getElementById("pin");
    const origin = document.getElementById("origin");
    return Boolean(pin && !pin.disabled && !pin.hidden && document.activeElement === pin && origin && origin.textContent);
  };
  const check = () => {
    if (probe.readyAt === null && ready()) probe.readyAt = now();
  };
  // Now and then the debugger attaches to a new window only after its page has run: the ready
  // moment is then unknown, and the login is not counted.
  probe.late = document.readyState !== "loading" || ready();
  check();
  // Held by the probe so it lives as long as the window.
  probe.observer = new MutationObserver(check);
  probe.observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  // Focus moving is no mutation.
  document.addEventListener("focusin", check, true);
  // The window closes itself as soon as the login is done: hand the times out at once.
  window.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && probe.enterAt === null) {
      probe.enterAt = now();
      window.carecardBenchPinTimes({ readyAt: probe.readyAt, enterAt: probe.enterAt, late: probe.late });
    }
  }, true);
}

function nonce() {
  return randomBytes(32).toString("base64");
}

/** The host's log so far (all rotated pieces are not needed: a bench run stays far below the cap). */
function hostLog(logDir) {
  const path = join(logDir, "carecard-host.log");
  return existsSync(path) ? readFileSync(path, "utf8") : "";
}

/** Requests the host received in `text`, by command: its "request N: <command>" lines. */
function hostRequests(text) {
  return text.split("\n").filter((line) => /request \d+: [a-z-]+$/.test(line)).length;
}

function median(values) {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Times `n` carecard.status() calls in the page; the first one (which starts the host) apart. */
async function timeStatus(page, n) {
  return page.evaluate(async (count) => {
    const carecard = await import("/carecard.js");
    const times = [];
    for (let i = 0; i <= count; i += 1) {
      const t0 = performance.now();
      const status = await carecard.status();
      times.push(performance.now() - t0);
      if (!status || !Array.isArray(status.readers)) throw new Error(`status() gave ${JSON.stringify(status)}`);
    }
    return { first: times[0], warm: times.slice(1) };
  }, n);
}

/** The resolver of the current login's PIN window times (logins run one after another). */
let pinTimesWaiter = null;

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * One login from the page, the PIN typed into the extension's window; all times in ms, or null
 * when the PIN window's probe came too late to see it get ready.
 */
async function timeLogin(context, page) {
  const opened = context.waitForEvent("page", { predicate: (p) => p.url().includes("/pin.html"), timeout: TIMEOUT_MS });
  const call = page.evaluate(async (challengeNonce) => {
    const carecard = await import("/carecard.js");
    const now = () => Date.now();
    const start = now();
    const token = await carecard.authenticate({ challengeNonce });
    const end = now();
    if (!token || token.format !== "web-eid:1.0" || !token.signature) throw new Error(`not a token: ${JSON.stringify(token)}`);
    return { start, end };
  }, nonce());
  // A failed call must not leave the wait for a window hanging unobserved, nor the reverse.
  call.catch(() => {});
  let reported;
  const pinTimes = new Promise((resolve) => (reported = resolve));
  pinTimesWaiter = reported;
  const win = await opened;
  const closed = win.waitForEvent("close", { timeout: TIMEOUT_MS }).catch(() => {});
  await win.waitForFunction(() => window.__carecardBench && window.__carecardBench.readyAt !== null, null, { timeout: TIMEOUT_MS })
    .catch(async (error) => {
      const state = await win.evaluate(() => JSON.stringify({
        readyAt: window.__carecardBench?.readyAt,
        disabled: document.getElementById("pin")?.disabled,
        origin: document.getElementById("origin")?.textContent,
        message: document.getElementById("message")?.textContent,
      })).catch((e) => e.message);
      throw new Error(`the PIN window (${win.url()}) did not get ready: ${error.message}; ${state}`);
    });
  await win.locator("#pin").fill(PIN);
  // The window may close itself (login done) before the key-up is delivered: that is success.
  await win.locator("#pin").press("Enter").catch((error) => {
    if (!win.isClosed() && !/closed/.test(error.message)) throw error;
  });
  const { start, end } = await call;
  const { readyAt, enterAt, late } = await withTimeout(pinTimes, "the PIN window's times");
  await closed;
  if (late) return null;
  if (typeof readyAt !== "number" || typeof enterAt !== "number") {
    throw new Error(`the PIN window reported no times (${readyAt}, ${enterAt})`);
  }
  return {
    full: end - start,
    machine: end - start - (enterAt - readyAt),
    toReady: readyAt - start,
    afterEnter: end - enterAt,
  };
}

function ms(value) {
  return value === null ? "-" : `${value.toFixed(2)} ms`;
}

function ratio(value, base) {
  return base ? `${(value / base).toFixed(2)}x` : "-";
}

async function run(options) {
  const stack = await startStack({ algorithm: options.algorithm });
  const stops = [() => stack.stop()];
  try {
    const site = await startSite(stack);
    stops.push(() => site.stop());
    const browser = await launchBrowser(stack);
    stops.push(() => browser.close());
    await browser.context.exposeBinding("carecardBenchPinTimes", (_source, times) => pinTimesWaiter?.(times));
    await browser.context.addInitScript(pinWindowProbe);
    const page = await browser.context.newPage();
    await page.goto(`${site.origin}/`);

    const status = await timeStatus(page, options.statusCalls);
    let first = null;
    while (first === null) first = await timeLogin(browser.context, page);
    const logins = [];
    let uncounted = 0;
    const logBefore = hostLog(browser.logDir).length;
    while (logins.length < options.logins) {
      const login = await timeLogin(browser.context, page);
      if (login) logins.push(login);
      else if ((uncounted += 1) > options.logins) throw new Error(`${uncounted} PIN windows could not be timed`);
    }
    const requests = hostRequests(hostLog(browser.logDir).slice(logBefore));
    const pick = (key) => median(logins.map((l) => l[key]));
    return {
      statusFirst: status.first,
      status: median(status.warm),
      uncounted,
      firstLogin: first.machine,
      machine: pick("machine"),
      toReady: pick("toReady"),
      afterEnter: pick("afterEnter"),
      full: pick("full"),
      requestsPerLogin: requests / (logins.length + uncounted),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
  }
}

function report(options, r) {
  const { pkcs11Ms, hostAuthMs } = options;
  console.log(`\ncarecard in the browser, ${options.algorithm} virtual card: Chromium → extension → carecard-host → pcscd`);
  const skipped = r.uncounted ? `; ${r.uncounted} more not counted: PIN window probed too late` : "";
  console.log(`(medians in the page: ${options.statusCalls} status() calls, ${options.logins} logins after a first one${skipped})`);
  console.log(`  ${"".padEnd(44)} ${"time".padStart(10)} ${"vs pkcs11-tool".padStart(15)} ${"vs host_authenticate".padStart(21)}`);
  // Ratios: to OpenSC for every whole call; to the bare host's authenticate for the logins.
  const row = (name, value, { tool = true, host = false } = {}) => console.log(
    `  ${name.padEnd(44)} ${ms(value).padStart(10)} ${(tool ? ratio(value, pkcs11Ms) : "").padStart(15)} ${(host ? ratio(value, hostAuthMs) : "").padStart(21)}`);
  row("status() round trip", r.status);
  row("status() first call after browser start", r.statusFirst);
  row("authenticate() minus PIN wait, (a)+(b)", r.machine, { host: true });
  row("  (a) call → PIN field ready", r.toReady, { tool: false });
  row("  (b) Enter → token in the page", r.afterEnter, { tool: false, host: true });
  row("authenticate() whole call (automated PIN)", r.full, { host: true });
  row("first login minus PIN wait", r.firstLogin, { host: true });
  console.log(`  host requests per login: ${r.requestsPerLogin.toFixed(2)}`);
}

function writeSummary(path, r) {
  const round = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
  writeFileSync(path, `${JSON.stringify({
    host_requests_per_login: round(r.requestsPerLogin),
    browser_pin_ready_ms: round(r.toReady),
    browser_enter_to_token_ms: round(r.afterEnter),
    browser_authenticate_minus_pin_wait_ms: round(r.machine),
    browser_status_ms: round(r.status),
  }, null, 2)}\n`);
}

try {
  const options = parseArgs(process.argv.slice(2));
  const result = await run(options);
  report(options, result);
  if (options.summary) writeSummary(options.summary, result);
} catch (error) {
  console.error(`browser bench failed: ${error?.message ?? error}`);
  process.exitCode = 1;
}

// The browser demo behind scripts/demo: a private PC/SC stack with a fresh virtual card, the mock
// CIS2 site, and Debian's Chromium with the real extension and the real carecard-host.
//
//   node demo.js [--algorithm rsa2048|p256|p384] [--headless|--headed] [--screenshot <file>] [--manage]
//
// --manage: the card-management mock ("My card" under /manage) instead of the login page;
// headless, it logs in, changes the PIN, renews the card and prints the new certificate's expiry.
//
// Headless (the default), it logs in by itself (PIN 123456 in the extension's PIN window), prints
// who logged in and saves a screenshot of the logged-in page. With --headed (a display is
// needed), it opens the login page and keeps everything running until the browser is closed or
// Ctrl-C.
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { startStack, startSite, launchBrowser, pinWindow, repo } from "./lib/harness.js";

const PIN = "123456";
const STEP_TIMEOUT_MS = 20000;

function parseArgs(argv) {
  const options = { algorithm: "p256", headless: true, manage: false, screenshot: join(repo, "artifacts", "demo", "logged-in.png") };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      i += 1;
      if (i >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[i];
    };
    if (arg === "--algorithm") options.algorithm = value();
    else if (arg === "--headless") options.headless = true;
    else if (arg === "--headed") options.headless = false;
    else if (arg === "--screenshot") options.screenshot = value();
    else if (arg === "--manage") options.manage = true;
    else throw new Error(`unknown argument '${arg}'`);
  }
  if (!["rsa2048", "p256", "p384"].includes(options.algorithm)) {
    throw new Error("--algorithm must be rsa2048, p256 or p384");
  }
  return options;
}

/** Runs one step, naming it in the error if it fails, so a failed demo says where it stopped. */
async function step(what, action) {
  try {
    return await action();
  } catch (error) {
    throw new Error(`${what}: ${error?.message ?? error}`);
  }
}

/** Everything started so far, stopped in reverse order, once (a signal and `finally` may both ask). */
const running = [];
let stopping = null;
function stopAll() {
  stopping ??= (async () => {
    while (running.length) {
      const stop = running.pop();
      try {
        await stop();
      } catch (error) {
        console.error(`demo: while stopping: ${error?.message ?? error}`);
      }
    }
  })();
  return stopping;
}

async function start(options) {
  console.log(`Starting a private pcscd with a virtual ${options.algorithm} card...`);
  const stack = await step("starting the PC/SC stack", () => startStack({ algorithm: options.algorithm }));
  running.push(() => stack.stop());
  const site = await step("starting the mock CIS2 site", () => startSite(stack, { manage: options.manage }));
  running.push(() => site.stop());
  console.log(`Mock CIS2 site on ${site.origin}`);
  console.log(`Starting Chromium (${options.headless ? "headless" : "on your display"}) with the carecard extension...`);
  const browser = await step("starting Chromium with the extension", () =>
    launchBrowser(stack, { headless: options.headless, handleSignals: false }));
  running.push(() => browser.close());
  if (!browser.worker) throw new Error("the carecard extension's service worker did not start");
  return { stack, site, browser };
}

/** The login page's own error line, if it shows one: why a login did not reach /home. */
async function pageStatus(page) {
  const text = await page.locator("#status").innerText({ timeout: 1000 }).catch(() => "");
  return text ? ` (the page says: ${text})` : "";
}

async function logInHeadless({ site, browser }, options) {
  const page = await browser.context.newPage();
  await step("opening the login page", () => page.goto(`${site.origin}/`));
  await step("clicking 'Log in with smartcard'", () => page.click("#login"));
  const win = await step("waiting for the extension's PIN window", () => pinWindow(browser.context, STEP_TIMEOUT_MS));
  await step("typing the PIN", async () => {
    // The worker enables the field once the card is found and the window knows who is asking.
    await win.locator("#pin:enabled").waitFor({ timeout: STEP_TIMEOUT_MS });
    await win.locator("#pin").fill(PIN);
    await win.locator("#pin").press("Enter");
  });
  try {
    await page.waitForURL(`${site.origin}/home`, { timeout: STEP_TIMEOUT_MS });
  } catch (error) {
    throw new Error(`waiting for the logged-in page: ${error.message}${await pageStatus(page)}`);
  }
  const name = (await page.locator("#name").innerText()).trim();
  const userId = (await page.locator("#user-id").innerText()).trim();
  if (!name) throw new Error("the logged-in page shows no name");
  if (!/^\d{12}$/.test(userId)) throw new Error(`the logged-in page shows no 12-digit user ID (got '${userId}')`);
  console.log(`Logged in as ${name} (user ID ${userId})`);
  mkdirSync(dirname(options.screenshot), { recursive: true });
  await step("saving the screenshot", () => page.screenshot({ path: options.screenshot }));
  console.log(`Screenshot of the logged-in page: ${options.screenshot}`);
}

/** Answers each PIN window that opens (once) until `done` settles. */
async function answerPinWindows(browser, done, secrets) {
  const answered = new WeakSet();
  let finished = false;
  done.finally(() => { finished = true; }).catch(() => {});
  while (!finished) {
    const win = browser.context.pages().find((p) => p.url().includes("/pin.html") && !p.isClosed() && !answered.has(p));
    if (win) {
      answered.add(win);
      try {
        await win.locator("#new-pin:visible:enabled, #pin:visible:enabled").first().waitFor({ timeout: STEP_TIMEOUT_MS });
        if (await win.locator("#new-pin").isVisible()) {
          await win.locator("#new-pin").fill(secrets.newPin);
          await win.locator("#confirm-pin").fill(secrets.newPin);
        }
        if (await win.locator("#pin").isVisible()) await win.locator("#pin").fill(secrets.pin);
        await win.locator("#submit").click();
      } catch {
        // the window closed on its own
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return done;
}

async function manageHeadless({ site, browser }, options) {
  const NEW_PIN = "654321";
  const page = await browser.context.newPage();
  await step("opening My card (log in first)", () => page.goto(`${site.origin}/manage/`));
  await step("logging in", async () => {
    await page.click("#login");
    const win = await pinWindow(browser.context, STEP_TIMEOUT_MS);
    await win.locator("#pin:enabled").waitFor({ timeout: STEP_TIMEOUT_MS });
    await win.locator("#pin").fill(PIN);
    await win.locator("#pin").press("Enter");
    await page.waitForURL(`${site.origin}/manage/`, { timeout: STEP_TIMEOUT_MS });
    await page.locator("#status[data-code]:not([data-code=''])").waitFor({ state: "attached", timeout: STEP_TIMEOUT_MS });
  });
  const holder = (await page.locator("#holder").innerText()).trim();
  console.log(`My card: ${holder}, certificates expire ${await page.locator("#expiry").innerText()} (${await page.locator("#days-left").innerText()} days left)`);
  const outcome = async (codes) => {
    await page.locator(codes.map((c) => `#status[data-code='${c}']`).join(", ")).first().waitFor({ timeout: 60000 });
    return page.locator("#status").getAttribute("data-code");
  };
  await step("changing the PIN", async () => {
    await page.click("#change-pin");
    const code = await answerPinWindows(browser, outcome(["PIN_CHANGED", "ERR_PIN_INCORRECT", "ERR_USER_CANCELLED", "ERR_PIN_BLOCKED"]), { pin: PIN, newPin: NEW_PIN });
    if (code !== "PIN_CHANGED") throw new Error(await page.locator("#status").innerText());
  });
  console.log(`PIN changed from ${PIN} to ${NEW_PIN}`);
  await step("renewing the card", async () => {
    await page.click("#renew");
    const code = await answerPinWindows(browser, outcome(["RENEWED", "ERR_PIN_INCORRECT", "ERR_USER_CANCELLED", "ERR_TIMEOUT", "ERR_CARD_REMOVED", "BAD_PROOF", "MANAGEMENT_KEY"]), { pin: NEW_PIN });
    if (code !== "RENEWED") throw new Error(await page.locator("#status").innerText());
  });
  const notAfter = Number(await page.locator("#new-expiry").getAttribute("data-not-after"));
  console.log(`Renewed: the new certificate expires ${new Date(notAfter * 1000).toISOString()}`);
  mkdirSync(dirname(options.screenshot), { recursive: true });
  await step("saving the screenshot", () => page.screenshot({ path: options.screenshot }));
  console.log(`Screenshot of My card: ${options.screenshot}`);
}

async function showHeaded({ site, browser }, options = {}) {
  if (options.manage) {
    const [first] = browser.context.pages();
    const page = first ?? (await browser.context.newPage());
    await step("opening My card", () => page.goto(`${site.origin}/manage/`));
    console.log("");
    console.log(`Chromium shows the card-management mock: ${site.origin}/manage/ (log in first: PIN 123456)`);
    console.log("Then change the PIN, renew the certificates, or try /manage/unlock, /manage/ra/issue, /manage/sign.");
    console.log("Close Chromium or press Ctrl-C here to stop the demo.");
    await new Promise((resolve) => browser.context.on("close", resolve));
    return;
  }
  const [first] = browser.context.pages();
  const page = first ?? (await browser.context.newPage());
  await step("opening the login page", () => page.goto(`${site.origin}/`));
  console.log("");
  console.log(`Chromium shows the mock CIS2 login page: ${site.origin}/`);
  console.log("Click 'Log in with smartcard' and type the virtual card's PIN, 123456, in the carecard window.");
  console.log("Close Chromium or press Ctrl-C here to stop the demo.");
  await new Promise((resolve) => browser.context.on("close", resolve));
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`demo: ${error.message}`);
    return 2;
  }
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      if (stopping === null) console.log("\nStopping the demo...");
      stopAll().finally(() => process.exit(130));
    });
  }
  try {
    const parts = await start(options);
    if (options.headless && options.manage) await manageHeadless(parts, options);
    else if (options.headless) await logInHeadless(parts, options);
    else await showHeaded(parts, options);
    return 0;
  } catch (error) {
    console.error(`demo failed: ${error?.message ?? error}`);
    return 1;
  } finally {
    await stopAll();
  }
}

process.exitCode = await main();

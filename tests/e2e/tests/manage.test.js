// Card management through the mock card-management service's own pages (tests/mock-cis2
// /manage): real pcscd + virtual cards + Chromium + the extension + carecard-host, with the
// service playing its part (the management key, the PUK, the CA). Card A (reader 00 00) belongs
// to Alex Tester, who is also the RA; card B (reader 00 01) is a blank card the RA issues.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { X509Certificate } from "node:crypto";
import {
  startStack, startSite, launchBrowser, pinWindow, insertExtraCard, startHttpsProxy, killHosts, artifactPath,
} from "../lib/harness.js";

const LOGIN_ORIGIN = "https://am.nhsidentity.spineservices.nhs.uk"; // a built-in login origin, not a management one

let stack;
let site;
let loginSite;
let proxy;
let browser;
let cardB;
/** Card A's PIN as the tests change it. */
let pinA = "123456";
let pinB = null;

before(async () => {
  stack = await startStack({ algorithm: "p256" });
  site = await startSite(stack, { manage: true, testHooks: true });
  loginSite = await startSite(stack, { manage: true, origin: LOGIN_ORIGIN });
  proxy = await startHttpsProxy(loginSite.port);
  browser = await launchBrowser(stack, {
    extraArgs: [`--host-resolver-rules=MAP am.nhsidentity.spineservices.nhs.uk 127.0.0.1:${proxy.port}`, "--ignore-certificate-errors"],
  });
  await logIn(pinA);
});

after(async () => {
  await browser?.close();
  await cardB?.remove().catch(() => {});
  cardB?.cleanup();
  await proxy?.close();
  await loginSite?.stop();
  await site?.stop();
  await stack?.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Logs in at the CIS2 mock with the first card; returns the page where the login landed. */
async function logIn(pin, { keep = false, origin = site.origin, path = "/" } = {}) {
  const page = await browser.context.newPage();
  await page.goto(`${origin}${path}`);
  await page.click("#login");
  const win = await pinWindow(browser.context);
  await win.locator("#pin").fill(pin);
  await win.locator("#pin").press("Enter");
  await page.waitForURL((url) => url.pathname !== "/", { timeout: 20000 });
  if (!keep) await page.close();
  return page;
}

/** Closes PIN windows left open by earlier steps (e.g. one showing a blocked PIN). */
async function closePinWindows() {
  for (const p of browser.context.pages().filter((page) => page.url().includes("/pin.html"))) {
    await p.close().catch(() => {});
  }
}

/** A /manage page once its script has read the cards. */
async function openManage(path = "/manage/") {
  await closePinWindows();
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}${path}`);
  await page.locator("#status[data-code]:not([data-code=''])").waitFor({ state: "attached", timeout: 20000 });
  return page;
}

async function statusCode(page) {
  return page.locator("#status").getAttribute("data-code");
}

/** The PIN window's title once its script has set it for the request. */
async function windowTitle(win) {
  await win.locator("#submit").waitFor({ timeout: 10000 });
  const deadline = Date.now() + 5000;
  let title = await win.locator("#title").innerText();
  while (title === "Smartcard PIN" && Date.now() < deadline) {
    await sleep(50);
    title = await win.locator("#title").innerText();
  }
  return title;
}

/** Fills whatever the PIN window asks (current PIN and/or new PIN twice) and presses OK. */
async function answer(win, { pin, newPin }) {
  // The window enables its fields once the worker has told it what the PIN is for.
  await win.locator("#new-pin:visible:enabled, #pin:visible:enabled").first().waitFor({ timeout: 10000 });
  if (newPin !== undefined && (await win.locator("#new-pin").isVisible())) {
    await win.locator("#new-pin").fill(newPin);
    await win.locator("#confirm-pin").fill(newPin);
  }
  if (await win.locator("#pin").isVisible()) await win.locator("#pin").fill(pin);
  await win.locator("#submit").click();
}

/**
 * Answers every PIN window that opens (each once) until the page's #status has one of `codes`
 * (or any code other than WAITING when `codes` is empty); returns the code.
 */
async function untilStatus(page, codes, secrets, timeoutMs = 40000) {
  const answered = new WeakSet();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const code = await statusCode(page);
    const busy = (await page.locator("body").getAttribute("data-state")) === "working";
    if (codes.length ? codes.includes(code) : code && code !== "WAITING" && !busy) return code;
    const win = browser.context.pages().find((p) => p.url().includes("/pin.html") && !p.isClosed() && !answered.has(p));
    if (win) {
      answered.add(win);
      await answer(win, typeof secrets === "function" ? await secrets(win) : secrets).catch(() => {});
    }
    if (Date.now() > deadline) {
      throw new Error(`status stayed ${code}: ${await page.locator("#status").innerText()}`);
    }
    await sleep(100);
  }
}

/** `cards()` from a page of the site, by reader. */
async function cardsByReader(page) {
  const { cards } = await page.evaluate(async () => (await import("/carecard.js")).cards());
  return Object.fromEntries(cards.map((c) => [c.reader, c]));
}

function cert9A(card) {
  return card.certificates.find((c) => c.slot === "9A").certificate;
}

test("change PIN in My card, then log in with the new PIN", async () => {
  const page = await openManage();
  assert.match(await page.locator("#holder").innerText(), /Alex Tester/);
  assert.match(await page.locator("#user-id").innerText(), /^\d{12}$/);
  assert.match(await page.locator("#days-left").innerText(), /^\d+$/);
  assert.equal(await page.locator("#pin-retries").innerText(), "3");
  await page.click("#change-pin");
  const win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Change your smartcard PIN");
  await answer(win, { pin: pinA, newPin: "246802" });
  await page.locator("#status[data-code='PIN_CHANGED']").waitFor({ timeout: 15000 });
  pinA = "246802";
  await page.close();
  const home = await logIn(pinA, { keep: true });
  assert.equal(new URL(home.url()).pathname, "/home");
  await home.close();
});

test("a wrong old PIN shows the tries left, in the window and on the page", async () => {
  const page = await openManage();
  await page.click("#change-pin");
  const win = await pinWindow(browser.context);
  await answer(win, { pin: "000000", newPin: "111111" });
  await win.locator("#retries").filter({ hasText: "2" }).waitFor({ timeout: 10000 });
  await win.locator("#cancel").click();
  await page.locator("#status[data-code='ERR_USER_CANCELLED']").waitFor({ timeout: 10000 });
  await page.locator("#pin-retries").filter({ hasText: /^2$/ }).waitFor({ timeout: 10000 });
  await page.close();
});

test("a blocked PIN is unlocked by the holder after the identity check, with a new PIN", async () => {
  // Block it: two more wrong PINs in the change-PIN window.
  const page = await openManage();
  await page.click("#change-pin");
  const win = await pinWindow(browser.context);
  await answer(win, { pin: "000000", newPin: "111111" });
  await win.locator("#retries").filter({ hasText: "1" }).waitFor({ timeout: 10000 });
  await answer(win, { pin: "000000", newPin: "111111" });
  await page.locator("#status[data-code='ERR_PIN_BLOCKED']").waitFor({ timeout: 10000 });
  await page.close();
  await closePinWindows();

  const unlock = await openManage("/manage/unlock");
  await unlock.click("#start-check");
  await unlock.locator("#status[data-code='CODE_SENT']").waitFor({ timeout: 10000 });
  assert.match(await unlock.locator("#holder").innerText(), /Alex Tester/);
  await unlock.fill("#otp", await unlock.locator("#otp-hint").getAttribute("data-code"));
  await unlock.click("#verify");
  const unlockWin = await pinWindow(browser.context);
  assert.equal(await unlockWin.locator("#title").innerText(), "Unlock your smartcard");
  assert.equal(await unlockWin.locator("#pin").isVisible(), false, "the PUK is never shown or asked");
  await answer(unlockWin, { newPin: "135802" });
  await unlock.locator("#status[data-code='UNLOCKED']").waitFor({ timeout: 15000 });
  pinA = "135802";
  assert.equal((await cardsByReader(unlock))[stack.info.reader].pinRetriesLeft, 3);
  await unlock.close();
});

test("unlock with a wrong PUK from the service shows the PUK tries left and is not retried", async () => {
  const page = await openManage("/manage/unlock");
  const before = (await cardsByReader(page))[stack.info.reader];
  // The service's record of this card's PUK is wrong (test hook).
  const setPuk = (puk) => page.evaluate(async ([cardId, value]) => {
    const r = await fetch("/manage/api/test/puk", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ cardId, puk: value }) });
    if (!r.ok) throw new Error(`test/puk ${r.status}`);
  }, [before.cardId, puk]);
  await setPuk("87654321");
  await page.click("#start-check");
  await page.locator("#status[data-code='CODE_SENT']").waitFor({ timeout: 10000 });
  await page.fill("#otp", await page.locator("#otp-hint").getAttribute("data-code"));
  await page.click("#verify");
  const win = await pinWindow(browser.context);
  await answer(win, { newPin: "975310" });
  await page.locator("#status[data-code='ERR_PUK_INCORRECT']").waitFor({ timeout: 15000 });
  const left = Number(await page.locator("#status").getAttribute("data-retries-left"));
  assert.ok(Number.isInteger(left), await page.locator("#status").innerText());
  if (!win.isClosed()) await win.locator("#cancel").click().catch(() => {});
  await sleep(500);
  const after = (await cardsByReader(page))[stack.info.reader];
  assert.equal(after.pukRetriesLeft, before.pukRetriesLeft - 1, "exactly one PUK try was spent");
  assert.equal(after.pukRetriesLeft, left);
  assert.equal(after.pinRetriesLeft, 3, "the PIN was not changed");
  await setPuk("12345678");
  await page.close();
});

/** Renews card A from My card; returns the page. `secrets` answer the PIN windows. */
async function renewA(page) {
  await page.click("#renew");
  return untilStatus(page, [], { pin: pinA });
}

/** The base64 DER SubjectPublicKeyInfo a base64 certificate certifies (as the host's journal holds keys). */
function spkiOf(certificateB64) {
  return new X509Certificate(Buffer.from(certificateB64, "base64")).publicKey.export({ type: "spki", format: "der" }).toString("base64");
}

test("renew, then log in at the CIS2 mock with the renewed certificate", async () => {
  const page = await openManage();
  const old = cert9A((await cardsByReader(page))[stack.info.reader]);
  await page.click("#renew");
  const titles = [];
  const renewed = await untilStatus(page, [], async (win) => {
    titles.push(await windowTitle(win));
    return { pin: pinA };
  });
  assert.equal(renewed, "RENEWED", await page.locator("#status").innerText());
  // New 9A and 9C keys, both proved, with the PIN typed once (9C is PIN-always on the card: the
  // host verifies again before it within the one request, and keeps the PIN no longer).
  assert.deepEqual(titles, ["Renew your smartcard certificates"]);
  const notAfter = Number(await page.locator("#new-expiry").getAttribute("data-not-after"));
  const days = Math.round((notAfter * 1000 - Date.now()) / 86400000);
  assert.ok(days >= 728 && days <= 730, `${days} days`);
  const card = (await cardsByReader(page))[stack.info.reader];
  assert.notEqual(cert9A(card), old);
  assert.equal(card.pendingRenewal, undefined);
  // Issued by the same CA the CIS2 mock trusts; the login below is verified by that mock.
  const ca = new X509Certificate(readFileSync(stack.info.card.caDer));
  assert.ok(new X509Certificate(Buffer.from(cert9A(card), "base64")).verify(ca.publicKey));
  await page.screenshot({ path: artifactPath("manage-renewed.png") });
  await page.close();
  const home = await logIn(pinA, { keep: true });
  assert.equal(new URL(home.url()).pathname, "/home");
  assert.match(await home.locator("#name").innerText(), /Alex Tester/);
  await home.close();
});

const RENEWAL_STEPS = ["auth-response", "prove-possession:9A+9C", "write-certificate:9A", "write-certificate:9C"];

/** Starts a renewal that stops after `step` (the page's test hook) and waits there. */
async function renewUntil(page, step) {
  await page.evaluate((s) => { document.body.dataset.pauseAfter = s; }, step);
  await page.click("#renew");
  const answered = new WeakSet();
  const deadline = Date.now() + 30000;
  while ((await page.locator("body").getAttribute("data-paused")) !== step) {
    const win = browser.context.pages().find((p) => p.url().includes("/pin.html") && !p.isClosed() && !answered.has(p));
    if (win) {
      answered.add(win);
      await answer(win, { pin: pinA }).catch(() => {});
    }
    if (Date.now() > deadline) throw new Error(`never paused after ${step}: ${await page.locator("#status").innerText()}`);
    await sleep(50);
  }
}

async function release(page) {
  await page.evaluate(() => { delete document.body.dataset.pauseAfter; });
}

test("renew interrupted by killing the host after each step, then completed by the next attempt", async () => {
  const page = await openManage();
  let journalled = null;
  for (const step of RENEWAL_STEPS) {
    const before = (await cardsByReader(page))[stack.info.reader];
    await renewUntil(page, step);
    assert.ok(await killHosts(browser.logDir) >= 1, "a host was running");
    await release(page);
    const stopped = await untilStatus(page, [], { pin: pinA });
    if (step === RENEWAL_STEPS.at(-1)) {
      // Every card step was done before the host died: only the session's close was lost, and
      // the host's death ended the session (the card was reset) anyway.
      assert.equal(stopped, "RENEWED", await page.locator("#status").innerText());
    } else {
      assert.notEqual(stopped, "RENEWED", `after killing the host at ${step} the renewal cannot have finished`);
      const pending = (await cardsByReader(page))[stack.info.reader].pendingRenewal ?? [];
      if (step.startsWith("prove-possession")) {
        assert.deepEqual(pending.map((p) => [p.slot, p.step]), [["9A", "key-generated"], ["9C", "key-generated"]],
          `${step}: the journal keeps both new keys`);
        journalled = pending.find((p) => p.slot === "9A").publicKey;
      }
      // The next attempt finishes: the journalled key is proved and certified, not generated again.
      const code = await renewA(page);
      assert.equal(code, "RENEWED", `${step}: ${await page.locator("#status").innerText()}`);
    }
    const steps = (await page.locator("body").getAttribute("data-steps")).trim().split(" ");
    const after = (await cardsByReader(page))[stack.info.reader];
    if (step === "prove-possession:9A+9C") {
      // The page handed the proofs to the service before the host's death was noticed, so the
      // service certified both journalled keys: the next attempt writes those certificates, with
      // no new key and no new PIN entry.
      assert.deepEqual(steps, ["auth-witness", "auth-response", "write-certificate:9A", "write-certificate:9C"], `${step}`);
      assert.equal(spkiOf(cert9A(after)), journalled, `${step}: the journalled key was certified, not replaced`);
    }
    if (step === "write-certificate:9A") {
      // The 9C certificate is sent again without a new proof.
      assert.deepEqual(steps, ["auth-witness", "auth-response", "write-certificate:9C"], `${step}`);
    }
    assert.equal(after.pendingRenewal, undefined, `${step}: nothing left unfinished`);
    assert.notEqual(cert9A(after), cert9A(before), `${step}: 9A renewed`);
  }
  await page.close();
  await logIn(pinA);
});

test("card pulled mid-renew, then the renewal completes when it is back", async () => {
  const page = await openManage();
  await renewUntil(page, "prove-possession:9A+9C");
  await stack.removeCard();
  await release(page);
  const stopped = await untilStatus(page, [], { pin: pinA });
  assert.notEqual(stopped, "RENEWED");
  await stack.insertCard();
  await page.reload();
  await page.locator("#status[data-code]:not([data-code=''])").waitFor({ state: "attached", timeout: 20000 });
  assert.match(await page.locator("#renewal-note").innerText(), /did not finish/);
  const journalled = (await cardsByReader(page))[stack.info.reader].pendingRenewal.find((p) => p.slot === "9A").publicKey;
  assert.equal(await renewA(page), "RENEWED", await page.locator("#status").innerText());
  assert.equal(spkiOf(cert9A((await cardsByReader(page))[stack.info.reader])), journalled, "the journalled key was certified");
  await page.close();
  await logIn(pinA);
});

test("RA issues a blank card in the other reader; the holder's first login forces a PIN change", async () => {
  cardB = await insertExtraCard(stack, { blank: true, userId: "555000000077", name: "Blank Card" });
  const ra = await openManage("/manage/ra/issue");
  await ra.locator("body[data-candidates='1']").waitFor({ timeout: 10000 });
  assert.equal(await ra.locator("#reader").inputValue(), cardB.reader);
  await ra.fill("#given-name", "Sam");
  await ra.fill("#surname", "Newstarter");
  await ra.fill("#holder-user-id", "555000000077");
  await ra.click("#issue");
  const titles = [];
  const code = await untilStatus(ra, [], async (win) => {
    titles.push(await windowTitle(win));
    return { pin: "246810", newPin: "246810" };
  });
  assert.equal(code, "ISSUED", await ra.locator("#status").innerText());
  // The RA sets the initial PIN, then types it once more: the host verifies it, generates both
  // keys and proves them in that one request.
  assert.deepEqual(titles, ["Unlock your smartcard", "Set up this card"]);
  const steps = (await ra.locator("body").getAttribute("data-steps")).trim().split(" ");
  assert.deepEqual(steps.slice(0, 5), ["auth-witness", "auth-response", "put-data:CHUID", "put-data:CCC", "set-pin"]);
  const issued = (await cardsByReader(ra))[cardB.reader];
  assert.equal(issued.cardId, await ra.locator("#result").getAttribute("data-card-id"));
  assert.deepEqual(issued.certificates.map((c) => c.slot), ["9A", "9C"]);
  await ra.close();

  // The RA hands the card over: the holder logs in with it alone and must choose a PIN first.
  await stack.removeCard();
  const first = await logIn("246810", { keep: true });
  assert.equal(new URL(first.url()).pathname, "/manage/");
  await first.locator("#status[data-code='MUST_CHANGE_PIN']").waitFor({ timeout: 15000 });
  assert.equal(await first.locator("#must-change-pin").isVisible(), true);
  assert.match(await first.locator("#holder").innerText(), /Sam Newstarter/);
  await first.click("#change-pin");
  await answer(await pinWindow(browser.context), { pin: "246810", newPin: "642086" });
  await first.locator("#status[data-code='PIN_CHANGED']").waitFor({ timeout: 15000 });
  pinB = "642086";
  assert.equal(await first.locator("#must-change-pin").isVisible(), false);
  await first.goto(`${site.origin}/home`);
  assert.match(await first.locator("#name").innerText(), /Sam Newstarter/);
  await first.close();
  await stack.insertCard();
  await logIn(pinA); // the RA again (reader 00 00 comes first)
});

test("RA repairs the card in the other reader: new certificates and a PIN reset with the service's PUK", async () => {
  assert.ok(cardB, "needs the card the RA issued");
  const ra = await openManage("/manage/ra/repair");
  // Card A is the RA's own: the service refuses it; card B is chosen by its reader.
  await ra.selectOption("#reader", cardB.reader);
  const before = (await cardsByReader(ra))[cardB.reader];
  await ra.click("#repair");
  const code = await untilStatus(ra, [], { pin: "112233", newPin: "112233" });
  assert.equal(code, "REPAIRED", await ra.locator("#status").innerText());
  pinB = "112233";
  const after = (await cardsByReader(ra))[cardB.reader];
  assert.notEqual(cert9A(after), cert9A(before));
  assert.equal(after.cardId, before.cardId);
  assert.equal(after.pinRetriesLeft, 3);
  // The RA's own card is not repairable by the RA.
  await ra.selectOption("#reader", stack.info.reader);
  await ra.click("#repair");
  assert.equal(await untilStatus(ra, [], {}), "OWN_CARD");
  await ra.close();
});

test("two cards inserted: change PIN hits the card chosen on the page, not the other", async () => {
  assert.ok(cardB, "needs the second card");
  const page = await openManage();
  assert.equal(await page.locator("#card-choice").isVisible(), true);
  await page.selectOption("#card", cardB.reader);
  await page.locator("#holder").filter({ hasText: "Sam Newstarter" }).waitFor({ timeout: 10000 });
  const pinOf = (path) => JSON.parse(readFileSync(path, "utf8")).pin.value;
  assert.equal(pinOf(stack.info.card.state), pinA);
  await page.click("#change-pin");
  const win = await pinWindow(browser.context);
  assert.match(await win.locator("#holder").innerText(), /Sam Newstarter/);
  await answer(win, { pin: pinB, newPin: "778899" });
  await page.locator("#status[data-code='PIN_CHANGED']").waitFor({ timeout: 15000 });
  pinB = "778899";
  assert.equal(pinOf(cardB.state), "778899", "the chosen card's PIN changed");
  assert.equal(pinOf(stack.info.card.state), pinA, "the other card's PIN did not");
  await page.close();
});

test("signing: the card signs the prescription's hash with 9C and the site verifies it", async () => {
  const page = await openManage("/manage/sign");
  await page.click("#sign");
  const win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Sign with your smartcard");
  assert.match(await win.locator("#description").innerText(), /Prescription/);
  await answer(win, { pin: pinA });
  await page.locator("#status[data-code='VERIFIED']").waitFor({ timeout: 15000 });
  await page.close();
});

test("renew a P-384 card (SHA-384 proofs) and an RSA-2048 card: each logs in with its renewed certificate", async () => {
  // Each card has its own CA (carecard-vcard init), so each gets its own instance of the site,
  // on 127.0.0.1 (cookies are per host, not per port: the main site's login stays).
  if (cardB) {
    await cardB.remove();
    cardB.cleanup();
    cardB = null;
  }
  await stack.removeCard();
  try {
    for (const [algorithm, keyType, detail] of [["p384", "ec", "secp384r1"], ["rsa2048", "rsa", 2048]]) {
      const card = await insertExtraCard(stack, { algorithm, name: "Pat Keys", userId: "555000000099" });
      const own = await startSite({ info: { card: { caDer: join(card.dir, "ca.der"), dir: card.dir } } }, { manage: true, host: "127.0.0.1" });
      try {
        const page = await logIn("123456", { keep: true, origin: own.origin, path: "/?next=/manage/" });
        await page.waitForURL(`${own.origin}/manage/`);
        await page.locator("#status[data-code]:not([data-code=''])").waitFor({ state: "attached", timeout: 20000 });
        const before = cert9A((await cardsByReader(page))[card.reader]);
        await page.click("#renew");
        assert.equal(await untilStatus(page, [], { pin: "123456" }), "RENEWED", `${algorithm}: ${await page.locator("#status").innerText()}`);
        const renewed = cert9A((await cardsByReader(page))[card.reader]);
        assert.notEqual(renewed, before);
        const key = new X509Certificate(Buffer.from(renewed, "base64")).publicKey;
        assert.equal(key.asymmetricKeyType, keyType);
        const details = key.asymmetricKeyDetails;
        assert.equal(keyType === "ec" ? details.namedCurve : details.modulusLength, detail);
        await page.close();
        const home = await logIn("123456", { keep: true, origin: own.origin });
        assert.equal(new URL(home.url()).pathname, "/home", `${algorithm}: the renewed certificate logs in`);
        await home.close();
      } finally {
        await own.stop();
        await card.remove();
        card.cleanup();
      }
    }
  } finally {
    await stack.insertCard();
  }
});

test("a login origin is refused card-management commands (the page, and the page library directly)", async () => {
  const page = await browser.context.newPage();
  await page.goto(`${LOGIN_ORIGIN}/manage/unlock`);
  await page.locator("#status[data-code='ERR_ORIGIN_NOT_ALLOWED']").waitFor({ timeout: 20000 });
  const codes = await page.evaluate(async () => {
    const cc = await import("/carecard.js");
    const code = (p) => p.then(() => "resolved", (e) => e.code);
    return {
      status: await code(cc.status()),
      cards: await code(cc.cards()),
      changePin: await code(cc.changePin({})),
      unlock: await code(cc.unlock({ puk: "12345678" })),
      openCardSession: await code(cc.openCardSession({})),
    };
  });
  assert.deepEqual(codes, {
    status: "resolved", // a login origin is served…
    cards: "ERR_ORIGIN_NOT_ALLOWED", // …but not card management
    changePin: "ERR_ORIGIN_NOT_ALLOWED",
    unlock: "ERR_ORIGIN_NOT_ALLOWED",
    openCardSession: "ERR_ORIGIN_NOT_ALLOWED",
  });
  assert.equal(browser.context.pages().filter((p) => p.url().includes("/pin.html")).length, 0, "no PIN window");
  await page.close();
});

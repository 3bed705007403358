// The extension's half of card management, in the real browser: the page API of
// docs/INTERFACES.md ("Page API for card management") called from a page of the mock site (a
// card-management origin in developer mode), the extension's PIN window in each of its modes,
// and the host and virtual card behind them. The test plays the card-management server where one
// is needed (the management key is the virtual card's default). The site's own card pages and
// their flows are tested in the mock site's browser tests.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createDecipheriv, createCipheriv, createPublicKey, randomBytes, X509Certificate, verify } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, startSite, launchBrowser, pinWindow } from "../lib/harness.js";

const MANAGEMENT_KEY = Buffer.from("010203040506070801020304050607080102030405060708", "hex");
const PUK = "12345678";

let stack;
let site;
let browser;
/** The card's PIN as the tests change it. */
let pin = "123456";

before(async () => {
  stack = await startStack({ algorithm: "p256" });
  site = await startSite(stack);
  browser = await launchBrowser(stack);
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await stack?.stop();
});

/** A page of the site with the page library loaded as `window.cc`. */
async function sitePage() {
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/`);
  await page.evaluate(async () => {
    window.cc = await import("/carecard.js");
  });
  return page;
}

/**
 * Starts `carecard.<fn>(...args)` in the page without waiting; `outcome()` then resolves to
 * `{ok: result}` or `{code, retriesLeft, message}`.
 */
async function start(page, fn, ...args) {
  const key = `call${Math.random().toString(36).slice(2)}`;
  await page.evaluate(({ key, fn, args }) => {
    window[key] = window.cc[fn](...args).then(
      (ok) => ({ ok }),
      (e) => ({ code: e.code, retriesLeft: e.retriesLeft, message: e.message }),
    );
  }, { key, fn, args });
  return { outcome: () => page.evaluate((key) => window[key], key) };
}

async function call(page, fn, ...args) {
  return (await start(page, fn, ...args)).outcome();
}

/**
 * Runs a key press or click that may end in success, after which the window closes itself, possibly
 * before Playwright has seen the whole key press or click through ("Target page closed"): that is
 * not a failure (as in tests/e2e/bench.js); the caller checks the outcome on the page.
 */
async function mayCloseWindow(win, action) {
  await action().catch((error) => {
    if (!win.isClosed() && !/closed/i.test(error.message)) throw error;
  });
}

/** Types `value` in the PIN field and presses Enter. */
async function enterPin(win, value) {
  await win.locator("#pin").fill(value);
  await mayCloseWindow(win, () => win.locator("#pin").press("Enter"));
}

/** Fills the PIN window's visible fields and presses OK. */
async function fill(win, { current, newPin, confirm = newPin }) {
  if (current !== undefined) await win.locator("#pin").fill(current);
  if (newPin !== undefined) {
    await win.locator("#new-pin").fill(newPin);
    await win.locator("#confirm-pin").fill(confirm);
  }
  await mayCloseWindow(win, () => win.locator("#submit").click());
}

async function logIn(expectPin) {
  const page = await browser.context.newPage();
  await page.goto(`${site.origin}/`);
  await page.click("#login");
  const win = await pinWindow(browser.context);
  await enterPin(win, expectPin);
  await page.waitForURL(`${site.origin}/home`, { timeout: 20000 });
  await page.close();
}

test("change PIN: the window shows the tries left, refuses a mismatch and a short PIN itself, then the new PIN logs in", async () => {
  const page = await sitePage();
  const { cards } = (await call(page, "cards")).ok;
  assert.equal(cards.length, 1);
  assert.equal(cards[0].pinRetriesLeft, 3);
  assert.match(cards[0].cardId, /^[0-9a-f]{64}$/);
  const change = await start(page, "changePin", { certificate: cards[0].certificates[0].certificate });
  const win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Change your smartcard PIN");
  assert.equal(await win.locator("#retries").innerText(), "3");
  await fill(win, { current: pin, newPin: "654321", confirm: "654320" });
  assert.match(await win.locator("#message").innerText(), /different/);
  await fill(win, { current: pin, newPin: "6543", confirm: "6543" });
  assert.match(await win.locator("#message").innerText(), /6 to 8 digits/);
  await fill(win, { current: pin, newPin: "654321" });
  assert.deepEqual(await change.outcome(), { ok: {} });
  pin = "654321";
  // Nothing the window refused reached the card.
  assert.equal((await call(page, "cards")).ok.cards[0].pinRetriesLeft, 3);
  await page.close();
  await logIn(pin);
});

test("unlock: a wrong PUK from the page fails once with its tries left; the right one sets the new PIN typed twice", async () => {
  const page = await sitePage();
  const wrong = await start(page, "unlock", { puk: "87654321" });
  let win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Unlock your smartcard");
  assert.equal(await win.locator("#pin").isVisible(), false, "no PIN or PUK field: the PUK came from the site");
  await fill(win, { newPin: "135790" });
  const failed = await wrong.outcome();
  assert.equal(failed.code, "ERR_PUK_INCORRECT");
  assert.ok(Number.isInteger(failed.retriesLeft), JSON.stringify(failed));
  assert.match(await win.locator("#message").innerText(), /did not accept the unlock code/);
  await win.locator("#cancel").click();

  const right = await start(page, "unlock", { puk: PUK });
  win = await pinWindow(browser.context);
  await fill(win, { newPin: "135790" });
  assert.deepEqual(await right.outcome(), { ok: {} });
  pin = "135790";
  await page.close();
  await logIn(pin);
});

test("a PIN and new PIN from the page are ignored: the window still asks for them", async () => {
  const page = await sitePage();
  // A page-supplied PIN is dropped: the window still asks, and Escape cancels.
  const change = await start(page, "changePin", { pin, newPin: "111111" });
  const win = await pinWindow(browser.context);
  await win.locator("#pin").press("Escape");
  assert.equal((await change.outcome()).code, "ERR_USER_CANCELLED");
  await page.close();
});

/** The card-management server's half of 3DES mutual authentication, relayed by the page. */
async function authenticateManagementKey(page, session) {
  const step = async (template) => {
    const reply = await call(page, "cardSession", session, "management-authenticate", {
      algorithm: "3DES", template: template.toString("base64"),
    });
    assert.ok(reply.ok, JSON.stringify(reply));
    return Buffer.from(reply.ok.template, "base64");
  };
  const tdes = (block, encrypt) => {
    const cipher = (encrypt ? createCipheriv : createDecipheriv)("des-ede3", MANAGEMENT_KEY, null);
    cipher.setAutoPadding(false);
    return Buffer.concat([cipher.update(block), cipher.final()]);
  };
  const witnessReply = await step(Buffer.from([0x80, 0x00]));
  assert.equal(witnessReply[0], 0x80);
  const witness = witnessReply.subarray(2, 2 + witnessReply[1]);
  const challenge = randomBytes(8);
  const answer = await step(Buffer.concat([
    Buffer.from([0x80, 8]), tdes(witness, false), Buffer.from([0x81, 8]), challenge, Buffer.from([0x82, 0]),
  ]));
  assert.equal(answer[0], 0x82);
  assert.deepEqual(answer.subarray(2, 10), tdes(challenge, true), "the card proved the management key");
}

test("a card session: relayed management authentication, proof of possession confirmed in the PIN window, and the card freed when the page goes", async () => {
  const page = await sitePage();
  const { cards } = (await call(page, "cards")).ok;
  const certificate = cards[0].certificates.find((c) => c.slot === "9A").certificate;
  const opened = await call(page, "openCardSession", { certificate });
  assert.ok(opened.ok, JSON.stringify(opened));
  const { session, reader } = opened.ok;
  assert.match(session, /^s-[0-9a-f]{16}$/);
  assert.equal(reader, cards[0].reader);

  // Another page cannot use this page's session, nor open a second one.
  const other = await sitePage();
  assert.equal((await call(other, "cardSession", session, "generate-key", { slot: "9A", algorithm: "P256" })).code, "ERR_TIMEOUT");
  assert.equal((await call(other, "openCardSession", {})).code, "ERR_CARD_BUSY");

  await authenticateManagementKey(page, session);

  const challenge = randomBytes(32);
  const proof = await start(page, "cardSession", session, "prove-possession", {
    slot: "9A", challenge: challenge.toString("base64"), purpose: "renew",
  });
  const win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Renew your smartcard certificates");
  assert.equal(await win.locator("#purpose").innerText(), `Renew your smartcard certificates for ${site.origin}. Type your PIN to confirm.`);
  assert.equal(await win.locator("#retries").innerText(), "3");
  await enterPin(win, pin);
  const proved = await proof.outcome();
  assert.ok(proved.ok, JSON.stringify(proved));
  const key = new X509Certificate(Buffer.from(certificate, "base64")).publicKey;
  assert.ok(
    verify("sha256", challenge, { key, dsaEncoding: "ieee-p1363" }, Buffer.from(proved.ok.signature, "base64")),
    "the card's 9A key signed the server's challenge",
  );

  // The page goes without closing its session: the extension closes it, so the card is free at once.
  await page.close();
  let reopened;
  for (let i = 0; i < 20; i += 1) {
    reopened = await call(other, "openCardSession", {});
    if (reopened.ok) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(reopened.ok, JSON.stringify(reopened));
  assert.deepEqual(await call(other, "cardSession", reopened.ok.session, "session-close"), { ok: {} });
  assert.equal((await call(other, "cardSession", reopened.ok.session, "session-close")).code, "ERR_TIMEOUT");
  await other.close();
});

test("signing: the PIN window names the site, what the site says is signed, and the hash's fingerprint", async () => {
  const page = await sitePage();
  const { cards } = (await call(page, "cards")).ok;
  const certificate = cards[0].certificates.find((c) => c.slot === "9C").certificate;
  const hash = Buffer.from("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "hex");
  const signing = await start(page, "sign", {
    hash: hash.toString("base64"), hashFunction: "SHA-256", certificate, description: "Prescription 42 for Jo Bloggs",
  });
  const win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Sign with your smartcard");
  assert.equal(await win.locator("#origin").innerText(), site.origin);
  assert.match(await win.locator("#description").innerText(), /“Prescription 42 for Jo Bloggs”/);
  assert.equal(await win.locator("#fingerprint").innerText(), "0011 2233 4455 6677");
  await enterPin(win, pin);
  const signed = await signing.outcome();
  assert.ok(signed.ok, JSON.stringify(signed));
  // The site verifies the signature (its signing page); here: the card's raw P-256 r‖s.
  assert.equal(Buffer.from(signed.ok.signature, "base64").length, 64);
  assert.deepEqual(signed.ok.signatureAlgorithm, { cryptoAlgorithm: "ECC", hashFunction: "SHA-256", paddingScheme: "NONE" });
  await page.close();
});

/** A certificate for `spkiB64` (the mock site's CA issues real ones; the host checks only the key). */
function issueFor(spkiB64) {
  const dir = mkdtempSync(join(tmpdir(), "carecard-issue-"));
  try {
    const pub = createPublicKey({ key: Buffer.from(spkiB64, "base64"), format: "der", type: "spki" });
    writeFileSync(join(dir, "pub.pem"), pub.export({ type: "spki", format: "pem" }));
    execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", join(dir, "ca.pem")]);
    execFileSync("openssl", ["x509", "-new", "-subj", "/CN=Alex Tester/serialNumber=555000000001", "-days", "30",
      "-force_pubkey", join(dir, "pub.pem"), "-key", join(dir, "ca.pem"), "-outform", "DER", "-out", join(dir, "cert.der")]);
    return readFileSync(join(dir, "cert.der")).toString("base64");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("renewal from the page, interrupted after the new key by closing the page, is finished by the next page from pendingRenewal", async () => {
  let page = await sitePage();
  const before = (await call(page, "cards")).ok.cards[0];
  const old = before.certificates.find((c) => c.slot === "9A").certificate;
  let opened = (await call(page, "openCardSession", { certificate: old })).ok;
  await authenticateManagementKey(page, opened.session);
  // The site alone cannot replace the holder's key: the holder confirms with the PIN first.
  const unconfirmed = await call(page, "cardSession", opened.session, "generate-key", { slot: "9A", algorithm: "P256" });
  assert.equal(unconfirmed.code, "ERR_INVALID_REQUEST", JSON.stringify(unconfirmed));
  const confirming = await start(page, "cardSession", opened.session, "verify-pin", { purpose: "renew" });
  const confirmWin = await pinWindow(browser.context);
  assert.equal(await confirmWin.locator("#title").innerText(), "Renew your smartcard certificates");
  await enterPin(confirmWin, pin);
  assert.deepEqual(await confirming.outcome(), { ok: {} });
  const generated = await call(page, "cardSession", opened.session, "generate-key", { slot: "9A", algorithm: "P256" });
  assert.ok(generated.ok, JSON.stringify(generated));
  const { publicKey } = generated.ok;
  // The browser tab goes before the certificate is written.
  await page.close();

  page = await sitePage();
  let card;
  for (let i = 0; i < 20; i += 1) {
    card = (await call(page, "cards")).ok.cards[0];
    if (card.application === "PIV") break;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.deepEqual(card.pendingRenewal.map(({ slot, step, publicKey: key }) => ({ slot, step, key })),
    [{ slot: "9A", step: "key-generated", key: publicKey }]);
  assert.equal(card.certificates.find((c) => c.slot === "9A").certificate, old, "the old certificate stays until the new one is written");
  opened = (await call(page, "openCardSession", { reader: card.reader })).ok;
  assert.equal(opened.pendingRenewal[0].publicKey, publicKey);
  await authenticateManagementKey(page, opened.session);
  const challenge = randomBytes(32);
  const proof = await start(page, "cardSession", opened.session, "prove-possession", {
    slot: "9A", challenge: challenge.toString("base64"),
  });
  const win = await pinWindow(browser.context);
  assert.equal(await win.locator("#title").innerText(), "Renew your smartcard certificates");
  await enterPin(win, pin);
  const proved = (await proof.outcome()).ok;
  const key = createPublicKey({ key: Buffer.from(publicKey, "base64"), format: "der", type: "spki" });
  assert.ok(verify("sha256", challenge, { key, dsaEncoding: "ieee-p1363" }, Buffer.from(proved.signature, "base64")),
    "the journalled new key signed the server's challenge");
  const certificate = issueFor(publicKey);
  assert.deepEqual(await call(page, "cardSession", opened.session, "write-certificate", { slot: "9A", certificate }), { ok: {} });
  assert.deepEqual(await call(page, "cardSession", opened.session, "session-close"), { ok: {} });
  const after = (await call(page, "cards")).ok.cards[0];
  assert.equal(after.certificates.find((c) => c.slot === "9A").certificate, certificate);
  assert.equal(after.pendingRenewal, undefined, "the journal is empty");
  await page.close();
});

// The browser half of run.sh.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(require.resolve("playwright-core", { paths: (process.env.NODE_PATH ?? "").split(":") }));

const base = process.argv[2];
const failures = [];
const expect = (what, ok, detail) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : `: ${detail}`}`);
  if (!ok) failures.push(what);
};

const browser = await chromium.launch({
  executablePath: "/usr/lib/chromium/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"],
});
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && !/401/.test(m.text()) && errors.push(m.text()));

  await page.goto(`${base}/`);
  await page.evaluate(() => { globalThis.__carecardFail = { code: "ERR_USER_CANCELLED", message: "You cancelled." }; });
  await page.click("#login");
  await page.waitForFunction(() => document.getElementById("status").dataset.code);
  const cancelled = await page.textContent("#status");
  expect("a carecard error is shown with its code", cancelled.includes("ERR_USER_CANCELLED"), cancelled);

  await page.evaluate(() => { globalThis.__carecardFail = undefined; });
  await page.click("#login");
  await page.waitForURL(`${base}/home`, { timeout: 10_000 });
  const name = await page.textContent("#name");
  const userId = await page.textContent("#user-id");
  expect("home shows the name", name === "Bob Tester", name);
  expect("home shows the user ID", userId === "700000000001", userId);

  await page.waitForFunction(() => typeof globalThis.__carecardEvent === "function");
  await page.evaluate(() => globalThis.__carecardEvent({ event: "card-removed", reader: "Virtual PCD 00 00" }));
  await page.waitForURL((url) => url.pathname === "/", { timeout: 10_000 });
  const status = await page.textContent("#status");
  expect("card removal logs out with a message", status === "You were logged out because the card was removed", status);

  await page.goto(`${base}/home`);
  expect("home redirects once logged out", new URL(page.url()).pathname === "/", page.url());
  expect("no script errors (CSP, modules)", errors.length === 0, errors.join(" | "));
} finally {
  await browser.close();
}
process.exit(failures.length ? 1 : 0);

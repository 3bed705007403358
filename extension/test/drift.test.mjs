// One source of truth: lists that are written out in more than one place must stay equal.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { ERROR_CODES } from "../src/shared/errors.js";
import { ACTIONS } from "../src/shared/messages.js";

const read = (path) => readFileSync(new URL(path, import.meta.url), "utf8");

/** The page library's KINDS table, evaluated from its source (the library does not export it). */
function pageLibraryKinds() {
  const source = read("../page/carecard.js");
  const match = /\nconst KINDS = (\{[^}]*\});/.exec(source);
  assert.ok(match, "page/carecard.js declares `const KINDS = {...};`");
  return vm.runInNewContext(`(${match[1]})`);
}

test("the page library and the worker agree on every action and its kind", () => {
  assert.deepEqual({ ...pageLibraryKinds() }, { ...ACTIONS });
});

test("the page library exports a function for every page action it sends", async () => {
  const source = read("../page/carecard.js");
  const sent = new Set([...source.matchAll(/\bcall\("([A-Za-z]+)"/g)].map((m) => m[1]));
  assert.deepEqual([...sent].sort(), Object.keys(ACTIONS).sort());
});

/** `#[serde(rename = "ERR_…")]` of the protocol crate's ErrorCode, the wire strings. */
function protocolErrorCodes() {
  const source = read("../../host/protocol/src/error.rs");
  const body = /pub enum ErrorCode \{([\s\S]*?)\n\}/.exec(source);
  assert.ok(body, "host/protocol/src/error.rs declares `pub enum ErrorCode { … }`");
  const renamed = [...body[1].matchAll(/#\[serde\(rename = "(ERR_[A-Z_]+)"\)\]/g)].map((m) => m[1]);
  const variants = [...body[1].matchAll(/^\s*([A-Z][A-Za-z]+),?\s*$/gm)].map((m) => m[1]);
  assert.equal(renamed.length, variants.length, "every ErrorCode variant has its wire name");
  // as_str() must give the same strings.
  const asStr = [...source.matchAll(/ErrorCode::[A-Za-z]+ => "(ERR_[A-Z_]+)"/g)].map((m) => m[1]);
  assert.deepEqual([...new Set(asStr)].sort(), [...renamed].sort(), "as_str() and serde agree");
  return renamed;
}

/** The CarecardErrorCode union of page/carecard.d.ts. */
function declaredErrorCodes() {
  const source = read("../page/carecard.d.ts");
  const union = /export type CarecardErrorCode =([^;]*);/.exec(source);
  assert.ok(union, "page/carecard.d.ts declares CarecardErrorCode");
  return [...union[1].matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1]);
}

test("error codes: protocol crate, extension and page typings list the same codes", () => {
  const protocol = protocolErrorCodes();
  const declared = declaredErrorCodes();
  for (const [name, list] of [["error.rs", protocol], ["errors.js", ERROR_CODES], ["carecard.d.ts", declared]]) {
    assert.equal(new Set(list).size, list.length, `${name} lists a code twice`);
    assert.ok(list.length >= 22, `${name}: ${list.length} codes read; the parser no longer matches the file`);
  }
  assert.deepEqual([...ERROR_CODES].sort(), [...protocol].sort(), "extension/src/shared/errors.js vs host/protocol/src/error.rs");
  assert.deepEqual([...declared].sort(), [...protocol].sort(), "extension/page/carecard.d.ts vs host/protocol/src/error.rs");
});

/**
 * The host's management commands as `is_management_command` derives them from `SPECS` in
 * host/protocol/src/command.rs: `session-open` and every command with a required session
 * (`IN_SESSION`).
 */
function protocolManagementCommands() {
  const source = read("../../host/protocol/src/command.rs");
  const table = /const SPECS: &\[Spec\] = &\[([\s\S]*?)\n\];/.exec(source);
  assert.ok(table, "command.rs declares `const SPECS: &[Spec] = &[ … ];`");
  const rule = /pub fn is_management_command\(command: &str\) -> bool \{([\s\S]*?)\n\}/.exec(source);
  assert.ok(rule, "command.rs declares is_management_command");
  assert.match(rule[1], /command == "session-open"/, "is_management_command still names session-open");
  assert.match(rule[1], /a\.required && a\.kind == Kind::Session/, "is_management_command still means 'a required session'");
  assert.match(source, /const IN_SESSION: Arg = req\("session", Kind::Session\);/, "IN_SESSION is the required session");
  const specs = table[1].split(/\n {4}Spec \{/).slice(1);
  const all = specs.map((spec) => /name: "([a-z-]+)"/.exec(spec)[1]);
  assert.ok(all.length >= 17, `${all.length} commands read; the parser no longer matches the file`);
  const inSession = specs.filter((spec) => /\bIN_SESSION\b|req\("session", Kind::Session\)/.test(spec));
  return ["session-open", ...inSession.map((spec) => /name: "([a-z-]+)"/.exec(spec)[1])];
}

test("the worker's card-management commands are the protocol crate's (is_management_command)", async () => {
  const { MANAGEMENT_COMMANDS, SESSION_RELAY_COMMANDS, SESSION_PIN_COMMANDS } = await import("../src/background/management.js");
  assert.deepEqual([...MANAGEMENT_COMMANDS].sort(), protocolManagementCommands().sort());
  assert.equal(new Set([...SESSION_RELAY_COMMANDS, ...SESSION_PIN_COMMANDS]).size, MANAGEMENT_COMMANDS.length - 1);
  // The PIN ones are exactly those whose spec takes a `pin`.
  const source = read("../../host/protocol/src/command.rs");
  for (const command of MANAGEMENT_COMMANDS) {
    const spec = new RegExp(`name: "${command}",\\s*args: &\\[([\\s\\S]*?)\\]`).exec(source);
    assert.ok(spec, command);
    assert.equal(/req\("pin", Kind::Pin\)/.test(spec[1]), SESSION_PIN_COMMANDS.includes(command), `${command} takes a PIN`);
  }
});

test("the page library sends the PIN session commands as cardSessionPin, the worker's list", async () => {
  const { SESSION_PIN_COMMANDS } = await import("../src/background/management.js");
  const match = /\nconst PIN_SESSION_COMMANDS = (\[[^\]]*\]);/.exec(read("../page/carecard.js"));
  assert.ok(match, "page/carecard.js declares PIN_SESSION_COMMANDS");
  assert.deepEqual([...vm.runInNewContext(match[1])], [...SESSION_PIN_COMMANDS]);
});

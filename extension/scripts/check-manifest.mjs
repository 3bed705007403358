// Checks manifest.json is a sound MV3 manifest for this extension: required keys, the CSP
// wasm needs and nothing more, no remote code, every referenced file present.
import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const manifest = JSON.parse(readFileSync(join(root, "manifest.json"), "utf8"));
const problems = [];
const expect = (ok, text) => {
  if (!ok) {
    problems.push(text);
  }
};

expect(manifest.manifest_version === 3, "manifest_version must be 3");
for (const key of ["name", "version", "description", "key", "background", "action", "content_scripts", "permissions"]) {
  expect(manifest[key] !== undefined, `missing key: ${key}`);
}
expect(manifest.name === "carecard", "name must be carecard");
expect(/^\d+(\.\d+){0,3}$/.test(String(manifest.version)), "version must be 1-4 dot-separated integers");
const key = readFileSync(join(root, ".dev-key-public.b64"), "utf8").trim();
expect(manifest.key === key, "key must be the development public key (.dev-key-public.b64)");
expect(
  JSON.stringify([...manifest.permissions].sort()) === JSON.stringify(["nativeMessaging", "storage"]),
  "permissions must be exactly nativeMessaging and storage",
);
expect(manifest.host_permissions === undefined, "no host_permissions are needed");
expect(manifest.background && manifest.background.type === "module", "background must be a module service worker");
expect(manifest.background && !manifest.background.scripts, "MV3 has no background.scripts");
expect(
  manifest.content_security_policy &&
    manifest.content_security_policy.extension_pages === "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'",
  "extension_pages CSP must be exactly script-src 'self' 'wasm-unsafe-eval'; object-src 'self'",
);
expect(manifest.storage && manifest.storage.managed_schema === "managed_schema.json", "storage.managed_schema missing");
for (const script of manifest.content_scripts || []) {
  expect(script.all_frames === false, "content scripts run in top frames only");
  expect(script.run_at === "document_start", "content scripts run at document_start");
  for (const match of script.matches) {
    expect(/^(https:\/\/\*\/\*|http:\/\/(localhost|127\.0\.0\.1)\/\*)$/.test(match), `unexpected match pattern ${match}`);
  }
}

// Every file the manifest names exists, and no page loads code from elsewhere.
const files = [
  manifest.background && manifest.background.service_worker,
  manifest.action && manifest.action.default_popup,
  manifest.storage && manifest.storage.managed_schema,
  ...(manifest.content_scripts || []).flatMap((s) => s.js || []),
  ...(manifest.web_accessible_resources || []).flatMap((r) => r.resources),
].filter(Boolean);
for (const file of files) {
  expect(existsSync(join(root, file)), `missing file ${file}`);
}
for (const page of ["popup.html", "pin.html"]) {
  const html = readFileSync(join(root, page), "utf8");
  expect(!/<script(?![^>]*\bsrc=)[^>]*>/i.test(html), `${page}: inline scripts are blocked by the CSP`);
  expect(!/\bsrc=["']?(https?:)?\/\//i.test(html) && !/href=["']?(https?:)?\/\/[^"']*\.(js|css)/i.test(html), `${page}: remote code`);
  expect(!/\son[a-z]+=/i.test(html), `${page}: inline event handlers are blocked by the CSP`);
}
JSON.parse(readFileSync(join(root, "managed_schema.json"), "utf8"));
const schemaProps = JSON.parse(readFileSync(join(root, "managed_schema.json"), "utf8")).properties || {};
for (const prop of ["allowedOrigins", "cardManagementOrigins", "developerMode", "logLevel"]) {
  expect(schemaProps[prop] !== undefined, `managed_schema.json lacks ${prop}`);
}

if (problems.length > 0) {
  console.error(`manifest.json: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("manifest.json: valid MV3 for carecard");

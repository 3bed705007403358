// The protocol crate compiled to wasm: the same validation the host runs, before a request leaves the browser.

import init, { initSync, validateRequest, certificateSummary } from "../../wasm/carecard_protocol.js";
import { ExtensionError } from "../shared/errors.js";

/** The module's load, started by the worker at once (`loadWasm`) or on first use. */
let ready = null;

/** Starts loading the module (the worker calls this at start: no top-level await in service workers). */
export function loadWasm() {
  if (!ready) {
    ready = init({ module_or_path: new URL("../../wasm/carecard_protocol_bg.wasm", import.meta.url) });
  }
  return ready;
}

/** Loads the module from its bytes (node unit tests, which cannot fetch a file: URL). */
export function loadWasmSync(bytes) {
  initSync({ module: bytes });
  ready = Promise.resolve();
}

function rethrow(e) {
  if (e && typeof e.code === "string") {
    throw new ExtensionError(e.code, e.message);
  }
  throw new ExtensionError("ERR_INTERNAL", `Validation failed: ${e && e.message}`);
}

/** Normalised host arguments for `command` (origin inserted), or throws an ExtensionError. */
export async function validate(command, args, origin, developerMode) {
  await loadWasm();
  try {
    return JSON.parse(validateRequest(command, JSON.stringify(args), origin, developerMode));
  } catch (e) {
    return rethrow(e);
  }
}

/** The CertificateSummary of a base64 DER certificate, or null when it cannot be read. */
export async function summarise(base64Der) {
  await loadWasm();
  try {
    return JSON.parse(certificateSummary(base64Der));
  } catch {
    return null;
  }
}

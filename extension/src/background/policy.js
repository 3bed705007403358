// Enterprise policy (chrome.storage.managed) and developer mode.

import { effectivePolicy } from "../shared/origins.js";

let cached = null;
/** The read in flight, shared by every caller (a managed read takes ~2 s while the browser starts). */
let reading = null;

/** The effective policy; cached until the managed storage changes. */
export async function currentPolicy() {
  if (cached) {
    return cached;
  }
  if (!reading) {
    const read = Promise.all([readManaged(), installedUnpacked()]).then(([managed, unpacked]) => {
      if (reading === read) {
        cached = effectivePolicy(managed, unpacked);
        reading = null;
      }
      return effectivePolicy(managed, unpacked);
    });
    reading = read;
  }
  return reading;
}

/**
 * `{policy, final}`: the effective policy if it can be read within `ms`, else (`final: false`) a
 * stand-in that serves only the developer hosts of an unpacked install (no list origins: the
 * policy may replace the built-in lists). Only for deciding whether the content script may answer
 * a page at all; every request still waits for the real policy (`currentPolicy`).
 */
export async function policyWithin(ms) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  const policy = await Promise.race([currentPolicy(), late]);
  clearTimeout(timer);
  if (policy) {
    return { policy, final: true };
  }
  const standIn = effectivePolicy({ allowedOrigins: [], cardManagementOrigins: [] }, await installedUnpacked());
  return { policy: standIn, final: false };
}

export function watchPolicy() {
  chrome.storage.onChanged.addListener((_changes, area) => {
    if (area === "managed") {
      cached = null;
      reading = null;
    }
  });
}

async function readManaged() {
  try {
    return await chrome.storage.managed.get(null);
  } catch {
    // No policy schema support (or no policy) on this platform: use the defaults.
    return {};
  }
}

// management.getSelf needs no "management" permission.
async function installedUnpacked() {
  try {
    const self = await chrome.management.getSelf();
    return self.installType === "development";
  } catch {
    return false;
  }
}

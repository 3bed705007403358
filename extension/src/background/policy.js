// Enterprise policy (chrome.storage.managed) and developer mode.

import { effectivePolicy } from "../shared/origins.js";

let cached = null;

/** The effective policy; cached until the managed storage changes. */
export async function currentPolicy() {
  if (cached) {
    return cached;
  }
  const [managed, unpacked] = await Promise.all([readManaged(), installedUnpacked()]);
  cached = effectivePolicy(managed, unpacked);
  return cached;
}

export function watchPolicy() {
  chrome.storage.onChanged.addListener((_changes, area) => {
    if (area === "managed") {
      cached = null;
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

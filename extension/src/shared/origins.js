// Origin derivation and allow-list matching. Pure functions: unit-tested under node.

/** The built-in lists (DESIGN.md); enterprise policy replaces them. */
export const DEFAULT_LOGIN_ORIGINS = Object.freeze([
  "https://am.nhsidentity.spineservices.nhs.uk",
  "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk",
]);
export const DEFAULT_CARD_MANAGEMENT_ORIGINS = Object.freeze([
  "https://manage-care-identities.care-identity-service2.nhs.uk",
]);

const DEVELOPER_HOSTS = new Set(["localhost", "127.0.0.1"]);

/**
 * The origin of a URL as the browser defines it (lower-case host, default port dropped),
 * or null when it has none (opaque origins, non-http schemes).
 */
export function originOfUrl(url) {
  if (typeof url !== "string" || url === "") {
    return null;
  }
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return null;
  }
  return parsed.origin;
}

/**
 * The origin of a runtime message sender. Only browser-supplied fields are used: the page
 * never gets a say. `sender.origin` (Chrome ≥ 80) is preferred, then the frame URL, then the tab URL.
 */
export function originOfSender(sender) {
  if (!sender || typeof sender !== "object") {
    return null;
  }
  if (typeof sender.origin === "string" && sender.origin !== "null") {
    const fromOrigin = originOfUrl(sender.origin);
    if (fromOrigin) {
      return fromOrigin;
    }
  }
  return originOfUrl(sender.url) || originOfUrl(sender.tab && sender.tab.url);
}

/** Normalises a policy entry to an origin, or null when it is not a bare http(s) origin. */
export function normaliseOriginEntry(entry) {
  if (typeof entry !== "string") {
    return null;
  }
  const trimmed = entry.trim().replace(/\/$/, "");
  const origin = originOfUrl(trimmed);
  // An entry with a path, query or credentials is an administrator error: ignore it rather than widen it.
  return origin !== null && origin === trimmed.toLowerCase() ? origin : null;
}

/** True for http://localhost[:port] and http://127.0.0.1[:port]. */
export function isDeveloperOrigin(origin) {
  const parsed = safeUrl(origin);
  return parsed !== null && parsed.protocol === "http:" && DEVELOPER_HOSTS.has(parsed.hostname);
}

/**
 * Whether `origin` may use commands guarded by `list`. http is accepted only for the
 * developer hosts in developer mode; everything else must be an exact https entry of the list.
 */
export function isOriginAllowed(origin, list, developerMode) {
  if (typeof origin !== "string") {
    return false;
  }
  if (isDeveloperOrigin(origin)) {
    return developerMode === true;
  }
  if (!origin.startsWith("https://")) {
    return false;
  }
  return list.some((entry) => normaliseOriginEntry(entry) === origin);
}

/**
 * The effective policy from chrome.storage.managed values (absent keys → defaults).
 * An administrator's list replaces the built-in one entirely, even when empty.
 */
export function effectivePolicy(managed, installedUnpacked) {
  const values = managed && typeof managed === "object" ? managed : {};
  const list = (value, fallback) =>
    Array.isArray(value) ? value.map(normaliseOriginEntry).filter((o) => o !== null) : [...fallback];
  return {
    allowedOrigins: list(values.allowedOrigins, DEFAULT_LOGIN_ORIGINS),
    cardManagementOrigins: list(values.cardManagementOrigins, DEFAULT_CARD_MANAGEMENT_ORIGINS),
    developerMode: values.developerMode === true || (values.developerMode !== false && installedUnpacked === true),
    logLevel: typeof values.logLevel === "string" ? values.logLevel : "warn",
  };
}

function safeUrl(value) {
  try {
    return new URL(value);
  } catch {
    return null;
  }
}

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
 * The origin of a runtime message sender: the browser's `sender.origin` (Chrome >= 80), never
 * the page's word and never a URL. An opaque origin ("null": a sandboxed iframe or a page served
 * with `Content-Security-Policy: sandbox`, a data: URL) has no origin of its own, so it gets
 * null and is refused, even when its URL is on an allow-listed site.
 */
export function originOfSender(sender) {
  if (!sender || typeof sender !== "object" || typeof sender.origin !== "string" || sender.origin === "null") {
    return null;
  }
  return originOfUrl(sender.origin);
}

/** The plain-English refusal for a page whose origin (null when opaque) may not use the card. */
export function originRefusalMessage(origin) {
  if (typeof origin !== "string" || origin === "") {
    return (
      "This page has no web address of its own (a sandboxed frame or page, or a data: or file: address), " +
      "so it may not use your smartcard."
    );
  }
  return `This site (${origin}) may not use your smartcard.`;
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
 * Whether carecard answers pages of `origin` at all (the content script stays silent otherwise):
 * login or card-management origins of `policy`, or a developer host in developer mode. Opaque
 * origins (null) never.
 */
export function isServedOrigin(origin, policy) {
  return (
    typeof origin === "string" &&
    (isOriginAllowed(origin, policy.allowedOrigins, policy.developerMode) ||
      isOriginAllowed(origin, policy.cardManagementOrigins, policy.developerMode))
  );
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

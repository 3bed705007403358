export type CarecardErrorCode =
  | "ERR_INVALID_REQUEST" | "ERR_MESSAGE_TOO_LARGE" | "ERR_UNKNOWN_COMMAND" | "ERR_ORIGIN_NOT_ALLOWED"
  | "ERR_PCSC_UNAVAILABLE" | "ERR_NO_READER" | "ERR_NO_CARD" | "ERR_CARD_REMOVED" | "ERR_CARD_BUSY"
  | "ERR_UNSUPPORTED_CARD" | "ERR_CERTIFICATE_NOT_FOUND" | "ERR_PIN_FORMAT" | "ERR_PIN_INCORRECT"
  | "ERR_PIN_BLOCKED" | "ERR_PUK_INCORRECT" | "ERR_PUK_BLOCKED" | "ERR_USER_CANCELLED" | "ERR_TIMEOUT"
  | "ERR_CARD_ERROR" | "ERR_INTERNAL" | "ERR_EXTENSION_UNAVAILABLE" | "ERR_NATIVE_UNAVAILABLE";

export declare class CarecardError extends Error {
  readonly name: "CarecardError";
  readonly code: CarecardErrorCode;
  readonly retriesLeft?: number;
  readonly statusWord?: string;
}

export interface ReaderStatus { name: string; card: null | { atr: string; application: "PIV" | null } }
export interface Status { version: string; protocol: 1; pcsc: "available" | "unavailable"; readers: ReaderStatus[] }
export interface CertificateEntry { reader: string; slot: "9A" | "9C"; certificate: string }
export interface AuthenticationToken {
  unverifiedCertificate: string;
  algorithm: "RS256" | "ES256" | "ES384" | "PS256";
  signature: string;
  format: "web-eid:1.0";
  appVersion: string;
}
export type HashFunction = "SHA-224" | "SHA-256" | "SHA-384" | "SHA-512";
export interface SignResult {
  signature: string;
  signatureAlgorithm: { cryptoAlgorithm: "RSA" | "ECC"; hashFunction: HashFunction; paddingScheme: "PKCS1.5" | "NONE" };
}
export type CardEvent =
  | { event: "reader-added" | "reader-removed"; reader: string }
  | { event: "card-inserted"; reader: string; atr: string }
  | { event: "card-removed"; reader: string }
  | { event: "pcsc-unavailable" }
  | { event: "host-disconnected"; message: string };

export declare function status(): Promise<Status>;
export declare function getCertificates(): Promise<{ certificates: CertificateEntry[] }>;
export declare function authenticate(options: { challengeNonce: string; certificate?: string }): Promise<AuthenticationToken>;
/** `description`: plain text (≤ 200 characters) the PIN window shows, in quotes, as the site's own words. */
export declare function sign(options: {
  hash: string; hashFunction: HashFunction; certificate: string; description?: string;
}): Promise<SignResult>;

// ---- Card management: served only to the policy's cardManagementOrigins (docs/INTERFACES.md,
// "Page API for card management"); any other origin gets ERR_ORIGIN_NOT_ALLOWED.

/** Names the card: at most one of these; none = the only inserted card. */
export type CardSelector =
  | { certificate?: undefined; reader?: undefined }
  | { certificate: string; reader?: undefined }
  | { reader: string; certificate?: undefined };
export type SessionCardSelector = CardSelector | { session: string; certificate?: undefined; reader?: undefined };

export type KeySlot = "9A" | "9C";
export interface PendingRenewal { slot: KeySlot; step: "generating" | "key-generated"; publicKey?: string; at?: number }
export interface CardInfo {
  reader: string;
  atr: string;
  /** null: the card could not be read as PIV (no PIV fields then); `held` says why. */
  application?: "PIV" | null;
  /**
   * true: a card session holds the card exclusively (a page's, or another program's), so it could
   * not be read: busy, not missing (a login or PIN change then fails with ERR_CARD_BUSY). false
   * with `application: null`: not a PIV card. Absent from older hosts.
   */
  held?: boolean;
  /**
   * true: the card's reader has a PIN pad; the PIN window then asks the holder to type the PIN
   * on the reader's keypad (all but `unlock`, whose new PIN is typed in the window). Where the PIN
   * is typed is the extension's choice: a page cannot ask for it (a `pinEntry` argument is dropped).
   */
  pinPad?: boolean;
  /** true: the PIN pad can also change the PIN; without it `changePin` is typed in the window. */
  pinPadChange?: boolean;
  certificates?: { slot: KeySlot; certificate: string }[];
  pinRetriesLeft?: number | null;
  pinBlocked?: boolean;
  pukRetriesLeft?: number | null;
  /** hex SHA-256 of the CHUID; null when the card has no CHUID (blank). */
  cardId?: string | null;
  pendingRenewal?: PendingRenewal[];
}
export interface CardSessionInfo { session: string; reader: string; cardId: string | null; pendingRenewal: PendingRenewal[] }
/** One entry of `prove-possession`'s `proofs`: the slot, the server's challenge, and the new key's algorithm if one is to be generated. */
export interface ProofRequest { slot: KeySlot; challenge: string; generate?: "RSA2048" | "P256" | "P384" }
/** The card's proof for one `ProofRequest`: `publicKey` only when the request generated the key. */
export interface Proof extends SignResult { slot: KeySlot; publicKey?: string }
/** Fixes the PIN window's title: "Renew your smartcard certificates" / "Set up this card" / "Repair this card". */
export type ManagementPurpose = "renew" | "issue" | "repair";

export interface CardSessionCommands {
  "management-authenticate": {
    args: { algorithm: "3DES" | "AES128" | "AES192" | "AES256"; template: string };
    result: { template: string };
  };
  "generate-key": { args: { slot: KeySlot; algorithm: "RSA2048" | "P256" | "P384" }; result: { publicKey: string } };
  "write-certificate": { args: { slot: KeySlot; certificate: string }; result: Record<string, never> };
  "put-data": { args: { object: "CHUID" | "CCC" | "PRINTED"; data: string }; result: Record<string, never> };
  "session-close": { args: Record<string, never>; result: Record<string, never> };
  /**
   * Opens the PIN window ("confirm with PIN"); the extension inserts the PIN (or the reader's PIN pad
   * takes it): the key in `slot` signs `challenge` (b64, 16–64 bytes). For a renewal under one PIN
   * entry, give `proofs` instead (the `cardSession` overload below).
   */
  "prove-possession": { args: { slot: KeySlot; challenge: string; purpose?: ManagementPurpose }; result: SignResult };
  /** Opens the PIN window ("confirm with PIN"); the extension inserts the PIN. */
  "verify-pin": { args: { purpose?: ManagementPurpose }; result: Record<string, never> };
}
export type CardSessionCommand = keyof CardSessionCommands;

/** Every card with its certificates, PIN/PUK retries, card id and unfinished renewal (the host's `cards`). */
export declare function cards(): Promise<{ cards: CardInfo[] }>;
/** Change the PIN: the extension window asks the current PIN and the new one twice. */
export declare function changePin(options?: SessionCardSelector): Promise<Record<string, never>>;
/** Unlock (or set an initial PIN) with the PUK from the service; the window asks the new PIN twice. */
export declare function unlock(options: { puk: string } & SessionCardSelector): Promise<Record<string, never>>;
/** Opens the (single, exclusive) card session; it belongs to this page and ends when the page goes. */
export declare function openCardSession(options?: CardSelector): Promise<CardSessionInfo>;
/**
 * A renewal's proofs under one PIN entry (one window, or one entry on a PIN-pad reader): `proofs`
 * has 1–2 entries for distinct slots; each with `generate` gets a new key first (journalled, so an
 * interrupted renewal resumes), then every entry's key signs its challenge (b64, 16–64 bytes).
 * The result lists the proofs in request order, with `publicKey` (b64 SPKI) for each generated key.
 */
export declare function cardSession(
  session: string,
  command: "prove-possession",
  args: { proofs: ProofRequest[]; purpose?: ManagementPurpose },
): Promise<{ proofs: Proof[] }>;
/** One step of a multi-step card-management flow inside `session`. */
export declare function cardSession<C extends CardSessionCommand>(
  session: string,
  command: C,
  args?: CardSessionCommands[C]["args"],
): Promise<CardSessionCommands[C]["result"]>;
/** Returns the unsubscribe function; its `ready` resolves true once events flow (false if they cannot). */
export declare function onCardEvent(
  callback: (event: CardEvent) => void,
  onError?: (error: CarecardError) => void,
): (() => void) & { ready: Promise<boolean> };

declare const carecard: {
  status: typeof status; getCertificates: typeof getCertificates; authenticate: typeof authenticate; sign: typeof sign;
  changePin: typeof changePin; unlock: typeof unlock; onCardEvent: typeof onCardEvent; CarecardError: typeof CarecardError;
  cards: typeof cards; openCardSession: typeof openCardSession; cardSession: typeof cardSession;
};
export default carecard;

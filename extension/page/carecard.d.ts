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
export declare function sign(options: { hash: string; hashFunction: HashFunction; certificate: string }): Promise<SignResult>;
export declare function changePin(): Promise<Record<string, never>>;
export declare function unlock(options: { puk: string }): Promise<Record<string, never>>;
/** Returns the unsubscribe function; its `ready` resolves true once events flow (false if they cannot). */
export declare function onCardEvent(
  callback: (event: CardEvent) => void,
  onError?: (error: CarecardError) => void,
): (() => void) & { ready: Promise<boolean> };

declare const carecard: {
  status: typeof status; getCertificates: typeof getCertificates; authenticate: typeof authenticate; sign: typeof sign;
  changePin: typeof changePin; unlock: typeof unlock; onCardEvent: typeof onCardEvent; CarecardError: typeof CarecardError;
};
export default carecard;

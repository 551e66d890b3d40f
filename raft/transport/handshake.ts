/**
 * The connection handshake: a mutual HMAC-SHA256 challenge-response over the cluster secret.
 *
 * ```
 * dialer   -> acceptor  {t:"hello", v:1, from:D, to:A, nonce:Nd}
 * acceptor -> dialer    {t:"challenge", from:A, nonce:Na, proof:HMAC(secret, "acceptor" | D | A | Nd | Na)}
 * dialer   -> acceptor  {t:"auth", proof:HMAC(secret, "dialer" | D | A | Nd | Na)}
 * acceptor -> dialer    {t:"welcome"}
 * ```
 * Each side proves it knows the secret over a fresh nonce chosen by the other side, so a recorded
 * handshake cannot be replayed. Both node ids are inside the MAC, so a proof made for one pair of
 * ids is worthless for any other pair, and the role label keeps one side's proof from being
 * reflected back as the other's. Proofs are compared with `timingSafeEqual`.
 * The secret itself never crosses the wire.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { NodeId } from "../core/types.js";

export const PROTOCOL_VERSION = 1;
export const NONCE_BYTES = 32;
/** Largest frame accepted before authentication: handshake messages are ~150 bytes. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;
const PROOF_BYTES = 32;

/** Dialer -> acceptor: who I am, whom I want, and my nonce. */
export interface Hello {
  readonly t: "hello";
  readonly v: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly nonce: Uint8Array;
}
/** Acceptor -> dialer: who I am, my nonce, and my proof over both nonces. */
export interface Challenge {
  readonly t: "challenge";
  readonly from: NodeId;
  readonly nonce: Uint8Array;
  readonly proof: Uint8Array;
}
/** Dialer -> acceptor: my proof over both nonces. */
export interface Auth {
  readonly t: "auth";
  readonly proof: Uint8Array;
}
/** Acceptor -> dialer: authenticated; from now on the dialer sends messages. */
export interface Welcome {
  readonly t: "welcome";
}

/** A fresh random nonce (CSPRNG). */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** The MAC a side sends: `role` is the prover's role in this connection. */
export function computeProof(
  secret: string,
  role: "dialer" | "acceptor",
  dialer: NodeId,
  acceptor: NodeId,
  dialerNonce: Uint8Array,
  acceptorNonce: Uint8Array,
): Buffer {
  const h = createHmac("sha256", secret);
  // JSON encoding makes the transcript unambiguous whatever characters the ids contain.
  h.update(JSON.stringify(["warren-transport", PROTOCOL_VERSION, role, dialer, acceptor]));
  h.update(dialerNonce);
  h.update(acceptorNonce);
  return h.digest();
}

/** Constant-time comparison of a received proof with the expected one. */
export function proofMatches(received: Uint8Array, expected: Buffer): boolean {
  return received.length === expected.length && timingSafeEqual(received, expected);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function isBytes(v: unknown, n: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === n;
}

function isId(v: unknown): v is NodeId {
  return typeof v === "string" && v.length > 0 && v.length <= 256;
}

/** The parse* functions return undefined for anything but the exact expected shape. */
export function parseHello(v: unknown): Hello | undefined {
  if (!isRecord(v) || v.t !== "hello" || v.v !== PROTOCOL_VERSION) return undefined;
  if (!isId(v.from) || !isId(v.to) || !isBytes(v.nonce, NONCE_BYTES)) return undefined;
  return { t: "hello", v: PROTOCOL_VERSION, from: v.from, to: v.to, nonce: v.nonce };
}

export function parseChallenge(v: unknown): Challenge | undefined {
  if (!isRecord(v) || v.t !== "challenge") return undefined;
  if (!isId(v.from) || !isBytes(v.nonce, NONCE_BYTES) || !isBytes(v.proof, PROOF_BYTES)) return undefined;
  return { t: "challenge", from: v.from, nonce: v.nonce, proof: v.proof };
}

export function parseAuth(v: unknown): Auth | undefined {
  if (!isRecord(v) || v.t !== "auth" || !isBytes(v.proof, PROOF_BYTES)) return undefined;
  return { t: "auth", proof: v.proof };
}

export function isWelcome(v: unknown): v is Welcome {
  return isRecord(v) && v.t === "welcome";
}

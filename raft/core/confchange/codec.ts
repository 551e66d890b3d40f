/**
 * Encoding of a {@link ConfChange} in a ConfChange entry's `data`: a MessagePack map
 * `{type, node, conf?: {voters, learners}}`, byte-compatible with msgpackr (msgpackr decodes
 * what this writes, and this decodes msgpackr's map16/str8 output). Written by hand because
 * the core is pure and dependency free; it only handles the few shapes a ConfChange needs.
 *
 * The format is part of the log: changing it breaks replicas that replay old entries, so it
 * only ever gains optional keys.
 */
import { RaftInvariantError } from "../../errors.js";
import type { ConfChange, ConfChangeType, ConfState } from "../types.js";

/** Encodes `cc` (with its resulting configuration when present) for a ConfChange entry. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  const node = utf8Encode(cc.node);
  const out: number[] = [cc.conf ? 0x83 : 0x82];
  pushStr(out, utf8Encode("type"));
  if (!Number.isInteger(cc.type) || cc.type < 0 || cc.type > 127) {
    throw new RaftInvariantError(`bad conf change type ${cc.type}`);
  }
  out.push(cc.type);
  pushStr(out, utf8Encode("node"));
  pushStr(out, node);
  if (cc.conf) {
    pushStr(out, utf8Encode("conf"));
    out.push(0x82);
    pushStr(out, utf8Encode("voters"));
    pushStrArray(out, cc.conf.voters);
    pushStr(out, utf8Encode("learners"));
    pushStrArray(out, cc.conf.learners);
  }
  return Uint8Array.from(out);
}

function pushStrArray(out: number[], items: readonly string[]): void {
  const n = items.length;
  if (n < 16) out.push(0x90 | n);
  else out.push(0xdc, n >> 8, n & 0xff);
  for (const s of items) pushStr(out, utf8Encode(s));
}

/**
 * Decodes a ConfChange entry's data (the host calls it before `applyConfChange`). Throws
 * RaftInvariantError on anything else: a committed entry that cannot be decoded means the
 * log is corrupt, and replicas must not diverge by skipping it.
 */
export function decodeConfChange(data: Uint8Array): ConfChange {
  const r = new Reader(data);
  const n = r.mapHeader();
  let type: number | undefined;
  let node: string | undefined;
  let conf: ConfState | undefined;
  for (let i = 0; i < n; i++) {
    const key = r.str();
    if (key === "type") type = r.uint();
    else if (key === "node") node = r.str();
    else if (key === "conf") conf = readConf(r);
    else throw new RaftInvariantError(`unexpected key ${key} in a conf change entry`);
  }
  if (type === undefined || node === undefined) throw new RaftInvariantError("incomplete conf change entry");
  return conf ? { type: type as ConfChangeType, node, conf } : { type: type as ConfChangeType, node };
}

function readConf(r: Reader): ConfState {
  const n = r.mapHeader();
  let voters: string[] = [];
  let learners: string[] = [];
  for (let i = 0; i < n; i++) {
    const key = r.str();
    const len = r.arrayHeader();
    const items: string[] = [];
    for (let j = 0; j < len; j++) items.push(r.str());
    if (key === "voters") voters = items;
    else if (key === "learners") learners = items;
    else throw new RaftInvariantError(`unexpected key ${key} in a conf change's configuration`);
  }
  return { voters, learners };
}

/** Appends a MessagePack string header (fixstr, str8 or str16) and the UTF-8 bytes. */
function pushStr(out: number[], bytes: number[]): void {
  const n = bytes.length;
  if (n < 32) out.push(0xa0 | n);
  else if (n < 256) out.push(0xd9, n);
  else out.push(0xda, n >> 8, n & 0xff);
  for (const b of bytes) out.push(b);
}

/** A cursor over the bytes; every read checks bounds so truncated data fails loudly. */
class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  private byte(): number {
    const b = this.buf[this.pos++];
    if (b === undefined) throw new RaftInvariantError("truncated conf change entry");
    return b;
  }

  mapHeader(): number {
    const b = this.byte();
    if ((b & 0xf0) === 0x80) return b & 0x0f;
    if (b === 0xde) return (this.byte() << 8) | this.byte();
    throw new RaftInvariantError(`conf change entry is not a map (0x${b.toString(16)})`);
  }

  arrayHeader(): number {
    const b = this.byte();
    if ((b & 0xf0) === 0x90) return b & 0x0f;
    if (b === 0xdc) return (this.byte() << 8) | this.byte();
    throw new RaftInvariantError(`expected an array in a conf change entry (0x${b.toString(16)})`);
  }

  uint(): number {
    const b = this.byte();
    if (b < 0x80) return b;
    if (b === 0xcc) return this.byte();
    if (b === 0xcd) return (this.byte() << 8) | this.byte();
    throw new RaftInvariantError(`expected an unsigned int in a conf change entry (0x${b.toString(16)})`);
  }

  str(): string {
    const b = this.byte();
    let n: number;
    if ((b & 0xe0) === 0xa0) n = b & 0x1f;
    else if (b === 0xd9) n = this.byte();
    else if (b === 0xda) n = (this.byte() << 8) | this.byte();
    else throw new RaftInvariantError(`expected a string in a conf change entry (0x${b.toString(16)})`);
    if (this.pos + n > this.buf.length) throw new RaftInvariantError("truncated conf change entry");
    const s = utf8Decode(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
}

/** UTF-8 by hand: the core compiles without DOM or Node types, so no TextEncoder. */
function utf8Encode(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return out;
}

function utf8Decode(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    let cp: number;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if (c < 0xe0) {
      cp = ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
      i += 2;
    } else if (c < 0xf0) {
      cp = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
      i += 3;
    } else {
      cp = ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
      i += 4;
    }
    s += String.fromCodePoint(cp);
  }
  return s;
}

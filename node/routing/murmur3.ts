/**
 * MurmurHash3 x86 32-bit over the UTF-8 bytes of a string (or raw bytes). Consistent hashing
 * needs a hash that is identical on every node and across restarts, so it cannot be Node's
 * crypto (not available in pure code) nor anything seeded at random.
 */

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Fixed seed: changing it would move every key to another queue on upgrade. */
export const MURMUR_SEED = 0x9747b28c;

function mixK(k: number): number {
  let x = Math.imul(k, C1);
  x = (x << 15) | (x >>> 17);
  return Math.imul(x, C2);
}

function mixH(h: number, k: number): number {
  let x = h ^ mixK(k);
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) | 0;
}

function finish(h0: number, length: number): number {
  let h = h0 ^ length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash raw bytes. */
export function murmur3Bytes(data: Uint8Array, seed = MURMUR_SEED): number {
  let h = seed | 0;
  const n = data.length;
  const blocks = n & ~3;
  for (let i = 0; i < blocks; i += 4) {
    const k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    h = mixH(h, k);
  }
  const rest = n & 3;
  if (rest > 0) {
    let tail = 0;
    if (rest === 3) tail ^= data[blocks + 2]! << 16;
    if (rest >= 2) tail ^= data[blocks + 1]! << 8;
    tail ^= data[blocks]!;
    h ^= mixK(tail);
  }
  return finish(h, n);
}

// Streaming state of murmur3String. Module-level rather than a closure so hashing allocates
// nothing; safe because hashing is synchronous and never re-entered.
let sh = 0;
let sBlock = 0;
let sFilled = 0;

function pushByte(byte: number): void {
  sBlock |= byte << (sFilled * 8);
  if (++sFilled === 4) {
    sh = mixH(sh, sBlock);
    sBlock = 0;
    sFilled = 0;
  }
}

/**
 * Hash the UTF-8 encoding of `s` without materialising it: bytes are produced from code points
 * and fed four at a time, so routing does not allocate a buffer per message.
 */
export function murmur3String(s: string, seed = MURMUR_SEED): number {
  sh = seed | 0;
  sBlock = 0;
  sFilled = 0;
  let length = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      pushByte(c);
      length++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    // Lone surrogates encode as U+FFFD, as TextEncoder does.
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x800) {
      pushByte(0xc0 | (c >> 6));
      pushByte(0x80 | (c & 0x3f));
      length += 2;
    } else if (c < 0x10000) {
      pushByte(0xe0 | (c >> 12));
      pushByte(0x80 | ((c >> 6) & 0x3f));
      pushByte(0x80 | (c & 0x3f));
      length += 3;
    } else {
      pushByte(0xf0 | (c >> 18));
      pushByte(0x80 | ((c >> 12) & 0x3f));
      pushByte(0x80 | ((c >> 6) & 0x3f));
      pushByte(0x80 | (c & 0x3f));
      length += 4;
    }
  }
  let h = sh;
  if (sFilled > 0) h ^= mixK(sBlock);
  return finish(h, length);
}

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

/**
 * Hash the UTF-8 encoding of `s` without materialising it: bytes are produced from code points
 * and fed four at a time, so routing does not allocate a buffer per message.
 */
export function murmur3String(s: string, seed = MURMUR_SEED): number {
  let h = seed | 0;
  let block = 0;
  let filled = 0;
  let length = 0;
  const push = (byte: number): void => {
    block |= byte << (filled * 8);
    filled++;
    length++;
    if (filled === 4) {
      h = mixH(h, block);
      block = 0;
      filled = 0;
    }
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      push(c);
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
      push(0xc0 | (c >> 6));
      push(0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      push(0xe0 | (c >> 12));
      push(0x80 | ((c >> 6) & 0x3f));
      push(0x80 | (c & 0x3f));
    } else {
      push(0xf0 | (c >> 18));
      push(0x80 | ((c >> 12) & 0x3f));
      push(0x80 | ((c >> 6) & 0x3f));
      push(0x80 | (c & 0x3f));
    }
  }
  if (filled > 0) h ^= mixK(block);
  return finish(h, length);
}

import { randomFillSync } from "node:crypto";

let lastMillis = 0;
let sequence = 0;

/**
 * Random bytes drawn 4 KiB at a time: randomFillSync costs about 2 µs a call
 * whatever its size, so one call serves 512 ids.
 */
const randomPool = Buffer.alloc(4096);
let poolOffset = randomPool.length;

function copyRandomBytes(target: Buffer, at: number, count: number): void {
  if (poolOffset + count > randomPool.length) {
    randomFillSync(randomPool);
    poolOffset = 0;
  }
  randomPool.copy(target, at, poolOffset, poolOffset + count);
  poolOffset += count;
}

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then a 12-bit sequence that
 * keeps ids from one process strictly increasing within a millisecond, then
 * 62 random bits. Ids therefore sort by creation time.
 */
export function uuidv7(now = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    sequence = 0;
  } else if (++sequence > 0xfff) {
    // More than 4096 ids in one millisecond: borrow the next millisecond.
    lastMillis += 1;
    sequence = 0;
  }
  const bytes = Buffer.allocUnsafe(16);
  copyRandomBytes(bytes, 8, 8);
  const millis = lastMillis;
  for (let i = 5; i >= 0; i--) bytes[i] = Math.floor(millis / 2 ** (8 * (5 - i))) & 0xff;
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A new publishable key token: "pk_" and 256 random bits in hex. */
export function newPublishableKeyToken(): string {
  return `pk_${Buffer.from(randomFillSync(new Uint8Array(32))).toString("hex")}`;
}

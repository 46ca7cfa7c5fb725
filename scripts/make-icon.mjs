// Draws the app icon (a diffraction pattern: direct beam and a lattice of Bragg disks on a dark field)
// as build/icon.png, 512×512 RGBA, with a tiny PNG encoder (node:zlib) so no image tool is needed.
import { writeFileSync, mkdirSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const N = 512;
const rgba = Buffer.alloc(N * N * 4);
const c = N / 2;
for (let y = 0; y < N; y++) {
  for (let x = 0; x < N; x++) {
    const dx = x - c, dy = y - c;
    const r = Math.hypot(dx, dy);
    let v = 0;
    // Lattice of reflections along two reciprocal vectors, fading with |g|.
    for (let h = -4; h <= 4; h++) {
      for (let k = -4; k <= 4; k++) {
        const gx = h * 52 + k * 18, gy = k * 46 - h * 10;
        const d = Math.hypot(dx - gx, dy - gy);
        const amp = h === 0 && k === 0 ? 1 : 0.85 * Math.exp(-Math.hypot(gx, gy) / 170);
        const radius = h === 0 && k === 0 ? 22 : 11;
        v = Math.max(v, amp * Math.min(1, Math.max(0, radius + 1.5 - d) / 2));
      }
    }
    const inside = r < N / 2 - 8 ? 1 : Math.max(0, (N / 2 - r) / 8);
    const i = (y * N + x) * 4;
    rgba[i] = Math.round(20 + 60 * v);
    rgba[i + 1] = Math.round(23 + 140 * v);
    rgba[i + 2] = Math.round(28 + 200 * v);
    rgba[i + 3] = Math.round(255 * inside);
  }
}
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c2 = n;
  for (let k = 0; k < 8; k++) c2 = c2 & 1 ? 0xedb88320 ^ (c2 >>> 1) : c2 >>> 1;
  return c2 >>> 0;
});
const crc32 = (buf) => {
  let c2 = 0xffffffff;
  for (const b of buf) c2 = crcTable[(c2 ^ b) & 0xff] ^ (c2 >>> 8);
  return (c2 ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
};
const raw = Buffer.alloc(N * (N * 4 + 1));
for (let y = 0; y < N; y++) rgba.copy(raw, y * (N * 4 + 1) + 1, y * N * 4, (y + 1) * N * 4);
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(N, 0); ihdr.writeUInt32BE(N, 4); ihdr[8] = 8; ihdr[9] = 6;
const png = Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
mkdirSync('build', { recursive: true });
writeFileSync('build/icon.png', png);
mkdirSync('resources', { recursive: true });
writeFileSync('resources/icon.png', png);
mkdirSync('src-renderer/public', { recursive: true });
writeFileSync('src-renderer/public/icon.png', png);
console.log(`build/icon.png ${png.length} bytes`);

import { describe, expect, it } from 'vitest';
import { decode, encode } from '../e2e/wire';

describe('e2e WebSocket framing', () => {
  it('sends plain messages as JSON text', () => {
    const frame = encode({ type: 'invoke', id: 1, channel: 'app.info', args: {} });
    expect(typeof frame).toBe('string');
    expect(decode(frame)).toEqual({ type: 'invoke', id: 1, channel: 'app.info', args: {} });
  });

  it('sends ArrayBuffers and typed arrays as binary, restoring their types and bytes', () => {
    const image = new Float32Array([1.5, -2, Number.NaN, 3e9]);
    const raw = new Uint8Array([1, 2, 3]).buffer;
    const sub = new Uint16Array([9, 8, 7, 6]).subarray(1, 3); // a view into a larger buffer
    const frame = encode({ a: { image, list: [raw, sub] }, n: 5 });
    expect(frame).toBeInstanceOf(Uint8Array);
    const back = decode(frame) as { a: { image: Float32Array; list: [ArrayBuffer, Uint16Array] }; n: number };
    expect(back.n).toBe(5);
    expect(back.a.image).toBeInstanceOf(Float32Array);
    expect(Array.from(back.a.image)).toEqual(Array.from(image));
    expect(new Uint8Array(back.a.list[0])).toEqual(new Uint8Array([1, 2, 3]));
    expect(Array.from(back.a.list[1])).toEqual([8, 7]);
  });
});

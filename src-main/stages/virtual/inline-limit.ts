/** Up to this many bytes a virtual-imaging pass runs on the calling thread (workers/inline.ts); above, on the shared pool. */
export const INLINE_MAX_BYTES = 32 << 20;

// Types of lib/gguf_keys.js.
export const GGUF_KEY: Readonly<Record<string, string>>;
export const GGUF_ARCH: Readonly<Record<string, string>>;
export const GGUF_ARCHITECTURE: Readonly<Record<string, string>>;
export function archKey(arch: string, suffix: string): string;

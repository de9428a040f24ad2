// Types of lib/env.js.
export const isNode: boolean;

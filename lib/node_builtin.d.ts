/** Import `node:NAME` (Node only), in a way bundlers leave out of browser graphs. */
export function nodeBuiltin(name: string): Promise<any>;

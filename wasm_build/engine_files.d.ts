// Types of wasm_build/engine_files.js.
import type { LocateFile } from './engine.js';
export const ENGINE_FILES: Readonly<Record<string, () => URL>>;
export class EngineFileError extends Error { code: 'download' }
export function locateEngineFile(name: string, locate?: LocateFile): string;
export function readWasm(name: string, url: string): Promise<Uint8Array>;
export function pthreadWorkerUrl(url: string): Promise<string>;
export function importGlue(name: string, url: string): Promise<(opts: Record<string, any>) => Promise<any>>;
export function glueMessage(e: unknown): string;

import type { TaskFormat } from './evaluate.js';

export const FORMATS: readonly TaskFormat[];
export type TaskItem =
  | { kind: 'choice'; line: number; context: string | null; requests: { context: string; continuation: string }[]; normTexts: string[]; gold: number }
  | { kind: 'generate'; line: number; context: string; until: string[]; answers: string[] };
export function detectFormat(doc: Record<string, any>): TaskFormat | null;
export function parseTask(text: string, opts?: { name?: string; format?: TaskFormat; limit?: number; shots?: number }):
  { format: TaskFormat; items: TaskItem[]; nDocs: number };
export function hellaswagPreprocess(text: string): string;
export function pyCapitalize(s: string): string;
export function parsePyLiteral(s: string): any;

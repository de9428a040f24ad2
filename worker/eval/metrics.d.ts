export function charLength(s: string): number;
export function byteLength(s: string): number;
export function argmax(a: number[]): number;
export function scoreChoice(lls: number[], normTexts: string[], gold: number):
  { pred: number; pred_norm: number; acc: number; acc_norm: number; acc_bytes: number };
export function normalizeAnswer(s: string): string;
export function scoreGenerated(output: string, answers: string[]): { exact_match: number };
export function mean(xs: number[]): number;
export function meanStderr(xs: number[]): number | null;
export function aggregate(docs: Record<string, number>[], names: string[]): Record<string, number | null>;
export function wordCount(s: string): number;

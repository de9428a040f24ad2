// Types of bin/progress.js.
export interface ProgressEvent {
  phase: string; loaded?: number; total?: number | null; rate?: number; resumedFrom?: number;
  file?: string; tensor?: number; tensors?: number; name?: string;
}
export function formatBytes(n: number): string;
export function formatDuration(s: number): string;
export function progressText(p: ProgressEvent): string;
export function progressLine(stream: { isTTY?: boolean; columns?: number; write(s: string): unknown },
  o?: { quiet?: boolean; now?: () => number }): { update(p: ProgressEvent): void; done(): void };

// Types of lib/ggml_types.js.

export interface GgmlTypeInfo {
  readonly id: number;
  readonly name: string;
  readonly blockElems: number;
  readonly blockBytes: number;
  readonly quantized: boolean;
  readonly engine: boolean;
  readonly ftype: number | null;
}
export const GGML_TYPES: readonly GgmlTypeInfo[];
export const GGMLType: Readonly<Record<string, number>>;
export function ggmlType(id: number): GgmlTypeInfo | null;
export const OUTPUT_TYPES: Readonly<Record<string, GgmlTypeInfo>>;

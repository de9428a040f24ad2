export interface AbiField { offset: number; size: number; kind: string }
export interface AbiStruct { size: number; fields: Record<string, AbiField> }
export function readLayout(mod: any): Record<string, AbiStruct>;
export class StructAbi {
  constructor(mod: any, layout?: Record<string, AbiStruct>);
  readonly layout: Record<string, AbiStruct>;
  size(strct: string): number;
  field(strct: string, field: string): AbiField;
  get(ptr: number, strct: string, field: string, i?: number): number;
  set(ptr: number, strct: string, field: string, value: number, i?: number): void;
  read(ptr: number, strct: string): Record<string, number>;
}

// Types of lib/model_card.js.
export function layerRanges(ids: number[]): string;
export function describeAttention(info: { nLayerEffective: number; attention: string; slidingWindow: number; windowedLayers: number[] }): string;
export function describeRope(info: { nLayerEffective: number; ropeLayers: number[]; ropeTheta: number; ropeThetaWindowed?: number | null; qkNorm: boolean }): string;
export function describeWeightTypes(info: { weightTypes: { type: string; tensors: number; bytes: number }[] }): string;
export interface ModelCard {
  family: string; layout: string; attention: string; rope: string; layerSharing: string;
  context: string; vocabulary: string; weights: string;
}
export function modelCard(info: Record<string, any>): ModelCard;

// Types of lib/sampler_defaults.js.
export const SAMPLER_DEFAULTS: Readonly<{
  temperature: number; topK: number; topP: number; minP: number; repeatPenalty: number; repeatLastN: number;
}>;

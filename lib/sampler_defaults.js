// sampler_defaults.js — the sampling settings used when a caller gives none, for the places that
// show them before an engine exists (the demo page's form). The engine's own defaults
// (src/sampler.c, mllm_sampler_params_init) are the source: the CLI and the API leave unset
// options to it, and tests/node/sampler_defaults.test.js holds this copy equal to it.

export const SAMPLER_DEFAULTS = Object.freeze({
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1.1,
  repeatLastN: 64,
});

// model_family.js — which MobileLLM family a GGUF file holds, from its general.architecture,
// general.basename and general.name. One table: a Pro row is one line, and no other file tests
// model names.

/**
 * Families in match order (the more specific prefix first). `prefix` is compared with a name
 * lowercased and stripped to letters and digits ("MobileLLM R1 360M" -> "mobilellmr1360m");
 * `architectures` are general.architecture values that only this family uses.
 * @type {ReadonlyArray<{family: string, prefix: string, architectures: readonly string[]}>}
 */
export const FAMILIES = Object.freeze([
  { family: 'MobileLLM-Pro', prefix: 'mobilellmpro', architectures: ['mobilellm-p1'] },
  { family: 'MobileLLM-R1', prefix: 'mobilellmr1', architectures: [] },
  { family: 'MobileLLM', prefix: 'mobilellm', architectures: ['mobilellm'] },
]);

/** The family of a file that matches no row: another llama-style model. */
export const OTHER_FAMILY = 'other';

/**
 * @param {{architecture?: string|null, basename?: string|null, name?: string|null}} meta
 * @returns {string} a FAMILIES family, or OTHER_FAMILY
 */
export function modelFamily({ architecture, basename, name }) {
  const byArch = FAMILIES.find((f) => architecture && f.architectures.includes(architecture));
  if (byArch) return byArch.family;
  for (const n of [basename, name]) {
    const key = typeof n === 'string' ? n.toLowerCase().replace(/[^a-z0-9]/g, '') : '';
    const hit = key && FAMILIES.find((f) => key.startsWith(f.prefix));
    if (hit) return hit.family;
  }
  return OTHER_FAMILY;
}

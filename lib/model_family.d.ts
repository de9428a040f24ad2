export const FAMILIES: ReadonlyArray<{ family: string; prefix: string; architectures: readonly string[] }>;
export const OTHER_FAMILY: 'other';
export function modelFamily(meta: { architecture?: string | null; basename?: string | null; name?: string | null }): string;

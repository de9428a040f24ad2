export const KERNEL_SOURCES: string[];

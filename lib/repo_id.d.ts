// Types of lib/repo_id.js.
export function parseRepoId(s: string): { repo: string; revision: string | null } | null;

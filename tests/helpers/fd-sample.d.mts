/** Adds to `seen` (path relative to `root`, which ends with a separator → every flags value seen) what `pid` holds now. */
export declare function sampleDescriptors(pid: number | 'self', root: string, seen: Map<string, Set<number>>): void;

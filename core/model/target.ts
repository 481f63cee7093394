/** Where a scheduler runs: the sandbox VM or this host (opt-in, see README "Host deployment"). */
import { z } from 'zod';

export const TargetKind = z.enum(['sandbox', 'host']);
export type TargetKind = z.infer<typeof TargetKind>;

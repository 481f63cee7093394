/** Content hashes: sha256 in hex, whole or cut to the length an id uses. */
import { createHash, type BinaryLike } from 'node:crypto';

export function sha256Hex(data: BinaryLike, chars = 64): string {
  return createHash('sha256').update(data).digest('hex').slice(0, chars);
}

/**
 * One reply line of the guest agent, read with a bounded amount of memory. A RUN reply carries
 * the script's stdout and stderr base64-encoded on one line (guest/agent.sh); a script that prints
 * a gigabyte must not make the host hold a gigabyte line. Past MAX_REPLY_CHARS the line keeps its
 * head and a rolling tail, and the fields are repaired at the end: each cut field is decoded from
 * the part that was kept, a marker put where the cut is, and encoded again, so readers of the
 * reply see valid base64 whose text says what was cut.
 */

/** Characters of one reply line kept (base64: about 3/4 of it in bytes of output). */
export const MAX_REPLY_CHARS = 4 * 1024 * 1024;
const HEAD_CHARS = MAX_REPLY_CHARS / 4;

export class LineReader {
  private parts: string[] = [];
  private chars = 0;
  private head: string | null = null;
  private tail = '';
  private dropped = 0;

  constructor(
    private readonly onLine: (line: string, cutChars: number) => void,
    private readonly max = MAX_REPLY_CHARS,
  ) {}

  /** Feed a chunk; complete lines go to onLine. Only the new chunk is searched for newlines. */
  push(chunk: string): void {
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', from);
      this.append(nl < 0 ? chunk.slice(from) : chunk.slice(from, nl));
      if (nl < 0) return;
      this.finish();
      from = nl + 1;
    }
  }

  private append(piece: string): void {
    if (!piece) return;
    if (this.head === null) {
      if (this.chars + piece.length <= this.max) {
        this.parts.push(piece);
        this.chars += piece.length;
        return;
      }
      const all = this.parts.join('') + piece;
      this.parts = [];
      const headChars = Math.min(HEAD_CHARS, Math.floor(this.max / 4));
      this.head = all.slice(0, headChars);
      this.tail = all.slice(headChars);
    } else {
      this.tail += piece;
    }
    const tailMax = this.max - this.head.length;
    if (this.tail.length > tailMax) {
      this.dropped += this.tail.length - tailMax;
      this.tail = this.tail.slice(-tailMax);
    }
  }

  private finish(): void {
    if (this.head === null) {
      const line = this.parts.join('');
      this.parts = [];
      this.chars = 0;
      this.onLine(line, 0);
      return;
    }
    const [head, tail, dropped] = [this.head, this.tail, this.dropped];
    this.head = null;
    this.tail = '';
    this.dropped = 0;
    this.onLine(repairCutReply(head, tail, dropped), dropped);
  }
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
/** Decode the base64 of a field's start (cut at its end). */
const decodeHead = (s: string) => Buffer.from(s.slice(0, s.length - (s.length % 4)), 'base64').toString('utf8');
/** Decode the base64 of a field's end (cut at its start; the whole field is a multiple of 4 long). */
const decodeTail = (s: string) => Buffer.from(s.slice(s.length % 4), 'base64').toString('utf8');

/**
 * A reply line whose middle (`dropped` characters) was not kept: `<id> DONE <rc> <t0> <t1> <out> <err>`
 * with the cut field(s) re-encoded around a marker. Lines of another shape keep their head.
 */
export function repairCutReply(head: string, tail: string, dropped: number): string {
  const h = head.split(' ');
  if (h[1] !== 'DONE' || h.length < 6) return head;
  const fixed = h.slice(0, 5);
  const marker = (n: number) =>
    `\n[... about ${Math.round((n * 3) / 4)} bytes of output cut here by the host (a reply is kept to ${MAX_REPLY_CHARS} characters) ...]\n`;
  const headFields = h.slice(5); // [out start] or [out, err start]
  const tailFields = tail.split(' '); // [..., out end, err] or [err end]
  if (headFields.length >= 2) {
    // stdout whole in the head; stderr cut
    return [...fixed, headFields[0], b64(`${decodeHead(headFields[1] ?? '')}${marker(dropped)}${decodeTail(tail)}`)].join(' ');
  }
  if (tailFields.length >= 2) {
    // stdout cut; stderr whole in the tail
    const outEnd = tailFields.slice(0, -1).join(' ');
    const out = `${decodeHead(headFields[0]!)}${marker(dropped)}${decodeTail(outEnd)}`;
    return [...fixed, b64(out), tailFields[tailFields.length - 1]].join(' ');
  }
  // both cut (both enormous): the start of stdout and the end of stderr
  return [...fixed, b64(`${decodeHead(headFields[0]!)}${marker(dropped)}`), b64(`${marker(dropped)}${decodeTail(tail)}`)].join(' ');
}

/**
 * The part files of a chunk: Bulk ingest CSV (Id + output columns) written as the scoring thread
 * returns lines, cut into files of at most `maxBytes` (Salesforce takes at most 100 MB raw per
 * upload), or at a chosen record (the first and last page's cut). A part completed before the page
 * ends is handed to `onPart`, so it can be submitted while the rest is scored.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export interface PartFile {
  path: string;
  records: number;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n += 1;
  return n;
}

export class PartWriter {
  private stream?: WriteStream;
  private bytes = 0;
  private lines = 0;
  readonly files: PartFile[] = [];

  constructor(
    private readonly base: string,
    private readonly header: string,
    private readonly maxBytes: number,
    /** Called with each part completed before the page ends (the last one is left to the caller). */
    private readonly onPart: (file: PartFile, part: number) => void = () => undefined,
  ) {}

  /** Appends `\n`-terminated lines; a new part starts when the next line would not fit. */
  async write(lines: string, count: number): Promise<void> {
    if (count === 0) return;
    const size = Buffer.byteLength(lines);
    const used = this.stream ? this.bytes : Buffer.byteLength(this.header) + 1;
    if (used + size > this.maxBytes && count > 1) {
      // Too much for the current part: split between lines so no part exceeds the limit.
      let cut = lines.indexOf('\n', lines.length >> 1) + 1;
      if (cut >= lines.length) cut = lines.lastIndexOf('\n', lines.length - 2) + 1;
      const first = lines.slice(0, cut);
      const firstCount = countLines(first);
      await this.write(first, firstCount);
      await this.write(lines.slice(cut), count - firstCount);
      return;
    }
    if (this.stream && this.bytes + size > this.maxBytes) await this.cut();
    if (!this.stream) {
      const path = `${this.base}-${this.files.length}.csv`;
      this.stream = createWriteStream(path);
      this.files.push({ path, records: 0 });
      this.bytes = Buffer.byteLength(this.header) + 1;
      this.lines = 0;
      this.stream.write(`${this.header}\n`);
    }
    this.bytes += size;
    this.lines += count;
    this.files[this.files.length - 1]!.records = this.lines;
    if (!this.stream.write(lines)) await new Promise<void>((resolve) => this.stream!.once('drain', resolve));
  }

  /** Ends the current part (if any) and hands it to `onPart`; the next line starts a new part. */
  async cut(): Promise<void> {
    if (!this.stream) return;
    await this.finish();
    this.onPart(this.files[this.files.length - 1]!, this.files.length - 1);
  }

  /** Ends the current part. */
  async finish(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    if (s) await new Promise<void>((resolve, reject) => s.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
}


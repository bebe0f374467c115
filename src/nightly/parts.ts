/**
 * The part files of a chunk: Bulk ingest CSV (Id + output columns) written as the scoring thread
 * returns lines, cut into files of at most `maxBytes` (Salesforce takes at most 100 MB raw per
 * upload), or at a chosen record (the first and last page's cut). A part completed before the page
 * ends is handed to `onPart`, so it can be submitted while the rest is scored. With a companion (the
 * score history rows, one per line), each part gets a second file holding the companion lines of
 * exactly its records.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { MOVE_BANDS, moveBand } from './budget.js';

export interface PartFile {
  path: string;
  records: number;
  /** The companion lines of the part's records (e.g. its score history rows), when written. */
  companion?: string;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n += 1;
  return n;
}

/** Where the first `count` lines of `text` end. */
function afterLines(text: string, count: number): number {
  let at = 0;
  for (let n = 0; n < count; n++) at = text.indexOf('\n', at) + 1;
  return at;
}

function ended(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
}

async function put(stream: WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', resolve));
}

export class PartWriter {
  private stream?: WriteStream;
  private companionStream?: WriteStream;
  private bytes = 0;
  private lines = 0;
  readonly files: PartFile[] = [];

  constructor(
    private readonly base: string,
    private readonly header: string,
    private readonly maxBytes: number,
    /** Called with each part completed before the page ends (the last one is left to the caller). */
    private readonly onPart: (file: PartFile, part: number) => void = () => undefined,
    /** Whether parts have companion files. */
    private readonly withCompanion = false,
  ) {}

  /** Appends `\n`-terminated lines (and their companion lines); a new part starts when the next line would not fit. */
  async write(lines: string, count: number, companion = ''): Promise<void> {
    if (count === 0) return;
    const size = Buffer.byteLength(lines);
    const used = this.stream ? this.bytes : Buffer.byteLength(this.header) + 1;
    if (used + size > this.maxBytes && count > 1) {
      // Too much for the current part: split between lines so no part exceeds the limit.
      let cut = lines.indexOf('\n', lines.length >> 1) + 1;
      if (cut >= lines.length) cut = lines.lastIndexOf('\n', lines.length - 2) + 1;
      const first = lines.slice(0, cut);
      const firstCount = countLines(first);
      const companionCut = this.withCompanion ? afterLines(companion, firstCount) : 0;
      await this.write(first, firstCount, companion.slice(0, companionCut));
      await this.write(lines.slice(cut), count - firstCount, companion.slice(companionCut));
      return;
    }
    if (this.stream && this.bytes + size > this.maxBytes) await this.cut();
    if (!this.stream) {
      const path = `${this.base}-${this.files.length}.csv`;
      this.stream = createWriteStream(path);
      const file: PartFile = { path, records: 0 };
      if (this.withCompanion) {
        file.companion = `${this.base}-${this.files.length}.history`;
        this.companionStream = createWriteStream(file.companion);
      }
      this.files.push(file);
      this.bytes = Buffer.byteLength(this.header) + 1;
      this.lines = 0;
      this.stream.write(`${this.header}\n`);
    }
    this.bytes += size;
    this.lines += count;
    this.files[this.files.length - 1]!.records = this.lines;
    await put(this.stream, lines);
    if (this.companionStream) await put(this.companionStream, companion);
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
    const c = this.companionStream;
    this.stream = undefined;
    this.companionStream = undefined;
    await Promise.all([s && ended(s), c && ended(c)]);
  }
}

/** A file appended to as text arrives, created on the first write (e.g. a page's shadow rows). */
export class TextFile {
  private stream?: WriteStream;

  constructor(readonly path: string) {}

  /** Whether anything was written. */
  get written(): boolean {
    return this.stream !== undefined;
  }

  async write(text: string): Promise<void> {
    if (!text) return;
    this.stream ??= createWriteStream(this.path);
    await put(this.stream, text);
  }

  private ending?: Promise<void>;

  /** Ends the file (safe to call again). */
  finish(): Promise<void> {
    this.ending ??= this.stream ? ended(this.stream) : Promise.resolve();
    return this.ending;
  }

  /** Stops writing (after a failure); what was written is discarded with the file. */
  abandon(): void {
    this.stream?.destroy();
  }
}

/**
 * A page's lines (and companion lines) sorted into bands of how far each record's score moved
 * (budget.ts MOVE_BANDS), in files, so a page short of Bulk budget can write its largest moves first
 * without holding the page in memory. Within a band lines keep their page order, so a second pass over
 * the same page keeps the very same records.
 */
export class MoveBands {
  private readonly files: TextFile[];
  private readonly companions: TextFile[];
  private readonly counts: number[];

  constructor(base: string, private readonly withCompanion = false) {
    this.files = MOVE_BANDS.map((_, i) => new TextFile(`${base}-${i}.csv`));
    this.companions = MOVE_BANDS.map((_, i) => new TextFile(`${base}-${i}.history`));
    this.counts = MOVE_BANDS.map(() => 0);
  }

  get paths(): string[] {
    return [...this.files, ...this.companions].map((f) => f.path);
  }

  /** Adds `\n`-terminated lines with their moves (line for line) and companion lines. */
  async add(lines: string, moves: readonly number[], companion = ''): Promise<void> {
    if (lines === '') return;
    const text: string[] = MOVE_BANDS.map(() => '');
    const side: string[] = MOVE_BANDS.map(() => '');
    let at = 0;
    let cat = 0;
    for (let k = 0; at < lines.length; k++) {
      const end = lines.indexOf('\n', at) + 1;
      const band = moveBand(moves[k] ?? 100);
      text[band] += lines.slice(at, end);
      this.counts[band]! += 1;
      at = end;
      if (this.withCompanion) {
        const cend = companion.indexOf('\n', cat) + 1;
        side[band] += companion.slice(cat, cend);
        cat = cend;
      }
    }
    for (let b = 0; b < MOVE_BANDS.length; b++) {
      await this.files[b]!.write(text[b]!);
      if (this.withCompanion) await this.companions[b]!.write(side[b]!);
    }
  }

  /** Writes at most `quota` lines, from the band that moved most down, to `writer`; answers how many. */
  async drainInto(writer: PartWriter, quota: number): Promise<number> {
    let written = 0;
    for (let b = 0; b < MOVE_BANDS.length && written < quota; b++) {
      await this.files[b]!.finish();
      await this.companions[b]!.finish();
      if (this.counts[b] === 0) continue;
      const take = Math.min(this.counts[b]!, quota - written);
      let text = await readFile(this.files[b]!.path, 'utf8');
      let side = this.withCompanion ? await readFile(this.companions[b]!.path, 'utf8') : '';
      if (take < this.counts[b]!) {
        text = text.slice(0, afterLines(text, take));
        if (this.withCompanion) side = side.slice(0, afterLines(side, take));
      }
      await writer.write(text, take, side);
      written += take;
    }
    for (const f of [...this.files, ...this.companions]) await f.finish();
    return written;
  }
}

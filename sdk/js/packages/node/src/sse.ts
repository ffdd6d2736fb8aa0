// A small Server-Sent Events parser following the WHATWG HTML "event stream
// interpretation" rules: lines end with CRLF, LF or CR; a leading BOM is
// dropped; ":" starts a comment; one space after the field colon is removed;
// "data" lines are joined with "\n"; an event is dispatched on a blank line
// and only if it has data; "id" values containing NUL are ignored; "retry"
// must be all ASCII digits. A partial event at end of stream is discarded.

export interface SSEEvent {
  /** Event type ("message" when the stream names none). */
  event: string;
  data: string;
  /** Last event id seen on this stream so far ("" if none). */
  id: string;
}

export interface SSEHandlers {
  onEvent(ev: SSEEvent): void;
  onRetry?(ms: number): void;
  onComment?(text: string): void;
}

export class SSEParser {
  private pending: string[] = [];
  private started = false;
  private skipLF = false;
  private eventType = "";
  private data: string[] = [];
  private hasData = false;
  private lastId = "";

  constructor(private readonly handlers: SSEHandlers) {}

  /** Feeds decoded text (any chunking, including a split CRLF). */
  push(text: string): void {
    let start = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    if (this.skipLF && start < text.length) {
      if (text.charCodeAt(start) === 10) start++;
      this.skipLF = false;
    }
    const n = text.length;
    for (let i = start; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      let line = text.slice(start, i);
      if (this.pending.length > 0) {
        this.pending.push(line);
        line = this.pending.join("");
        this.pending = [];
      }
      if (c === 13) {
        if (i + 1 < n) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else {
          this.skipLF = true;
        }
      }
      start = i + 1;
      this.line(line);
    }
    if (start < n) this.pending.push(text.slice(start));
  }

  /** Ends the stream: an unterminated event is discarded, per the standard. */
  end(): void {
    this.pending = [];
    this.data = [];
    this.hasData = false;
    this.eventType = "";
  }

  private line(line: string): void {
    if (line === "") {
      this.dispatch();
      return;
    }
    if (line.charCodeAt(0) === 58 /* : */) {
      this.handlers.onComment?.(line.slice(1).replace(/^ /, ""));
      return;
    }
    const colon = line.indexOf(":");
    let field: string;
    let value: string;
    if (colon < 0) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case "event":
        this.eventType = value;
        break;
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.lastId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(parseInt(value, 10));
        break;
      default:
      // ignored, per the standard
    }
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.eventType = "";
      return;
    }
    const ev: SSEEvent = { event: this.eventType || "message", data: this.data.join("\n"), id: this.lastId };
    this.data = [];
    this.hasData = false;
    this.eventType = "";
    this.handlers.onEvent(ev);
  }
}

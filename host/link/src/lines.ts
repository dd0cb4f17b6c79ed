/**
 * Console text from the Nordic UART TX arrives in MTU-sized chunks that may split a line or a UTF-8
 * character: this turns chunks into whole lines (without the trailing \r\n).
 */
export class LineSplitter {
  private readonly decoder = new TextDecoder('utf-8');
  private pending = '';

  /** Lines completed by this chunk. */
  push(chunk: Uint8Array): string[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const out: string[] = [];
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      out.push(this.pending.slice(0, nl).replace(/\r$/, ''));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    return out;
  }

  /** A last unterminated line, if any (when the connection ends). */
  flush(): string | undefined {
    this.pending += this.decoder.decode();
    const rest = this.pending.replace(/\r$/, '');
    this.pending = '';
    return rest.length > 0 ? rest : undefined;
  }
}

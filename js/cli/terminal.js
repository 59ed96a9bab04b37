// What a person sees of a run: the answer on stdout, a line per tool call and a spinner on stderr, and y/n
// questions read from stdin. Without a terminal the same calls give plain lines: no spinner, no questions.

import { createInterface } from 'node:readline';

const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
const FRAME_MS = 80;
const CLEAR_LINE = '\r\x1b[K';

export class Terminal {
  #out;
  #err;
  #in;
  #redact;
  /** Answer text on a terminal stdout has not ended its line: stderr output starts a new one first. */
  #midLine = false;
  #spinner = null; // { timer, frame, label } while busy on a terminal stderr
  #lines = null; // stdin's lines, read from the first question on
  #reader = null;
  #waiting = null;
  #ended = false;

  /** `redact(text)` hides secrets in everything written. */
  constructor({ redact = (text) => text, stdout = process.stdout, stderr = process.stderr, stdin = process.stdin } = {}) {
    this.#out = stdout;
    this.#err = stderr;
    this.#in = stdin;
    this.#redact = redact;
  }

  /** On a terminal the answer streams as the model writes it; elsewhere it is printed whole at the end (a model
   * request tried again streams its text again, which a pipe must not get twice). */
  get streams() {
    return Boolean(this.#out.isTTY);
  }

  /** Questions need a person: stdin and stderr both on a terminal. */
  get canAsk() {
    return Boolean(this.#in.isTTY && this.#err.isTTY);
  }

  /** Answer text; on a terminal, as it arrives. */
  text(text) {
    if (!text) return;
    this.idle();
    this.#out.write(this.#redact(text));
    this.#midLine = Boolean(this.#out.isTTY) && !text.endsWith('\n');
  }

  /** Ends a line of answer text, so what comes next starts a line of its own. */
  endLine() {
    if (this.#midLine) this.#out.write('\n');
    this.#midLine = false;
  }

  /** A line on stderr (the spinner, if any, moves below it; on the same terminal, after the answer's line). */
  note(line) {
    this.#clear();
    if (this.#err.isTTY) this.endLine();
    this.#err.write(`${this.#redact(line)}\n`);
    this.#draw();
  }

  /** Shows a spinner with `label` on a terminal stderr until `idle()` or answer text. */
  busy(label) {
    if (!this.#err.isTTY) return;
    this.endLine();
    if (!this.#spinner) {
      this.#spinner = { frame: 0, label, timer: setInterval(() => this.#tick(), FRAME_MS) };
      this.#spinner.timer.unref();
    }
    this.#spinner.label = label;
    this.#draw();
  }

  idle() {
    if (!this.#spinner) return;
    this.#clear();
    clearInterval(this.#spinner.timer);
    this.#spinner = null;
  }

  #tick() {
    this.#spinner.frame = (this.#spinner.frame + 1) % FRAMES.length;
    this.#draw();
  }

  #draw() {
    if (this.#spinner) this.#err.write(`${CLEAR_LINE}${FRAMES[this.#spinner.frame]} ${this.#redact(this.#spinner.label)}`);
  }

  #clear() {
    if (this.#spinner) this.#err.write(CLEAR_LINE);
  }

  /** Asks `question` on stderr and resolves to the line typed, or null at the end of stdin or once `signal` aborts. */
  async ask(question, signal) {
    this.idle();
    this.endLine();
    this.#err.write(this.#redact(question));
    this.#lines ??= this.#listen();
    if (this.#lines.length) return this.#lines.shift();
    if (this.#ended || signal?.aborted) return null;
    return new Promise((resolve) => {
      const onAbort = () => {
        this.#waiting = null;
        resolve(null);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting = (line) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(line);
      };
    });
  }

  /** Lines of stdin, kept until asked for (a person may type ahead). readline without its terminal mode leaves
   * the terminal cooked, so Ctrl-C stays a SIGINT. */
  #listen() {
    const lines = [];
    const reader = createInterface({ input: this.#in, terminal: false });
    const take = (line) => {
      const waiting = this.#waiting;
      this.#waiting = null;
      if (waiting) waiting(line);
      else if (line !== null) lines.push(line);
    };
    reader.on('line', take);
    reader.on('close', () => {
      this.#ended = true;
      take(null);
    });
    this.#reader = reader;
    return lines;
  }

  /** Stops the spinner, ends the answer's line, and stops reading stdin. */
  close() {
    this.idle();
    this.endLine();
    this.#reader?.close();
  }
}

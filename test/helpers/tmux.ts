import { execa } from 'execa';

/**
 * A real terminal for the real binary: a private tmux server (own socket), a session of the
 * given size, keys sent like a person, the screen read back with capture-pane.
 */
export class TmuxSession {
  private readonly socket: string;

  private constructor(
    readonly name: string,
    socket: string,
  ) {
    this.socket = socket;
  }

  static async start(command: string[], options: { env?: Record<string, string>; width?: number; height?: number; cwd?: string; prefix?: string } = {}): Promise<TmuxSession> {
    const name = `${options.prefix ?? 'cw'}${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const session = new TmuxSession(name, `cw-test-${name}`);
    const envArgs = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const quoted = ['env', '-i', ...envArgs, ...command].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // env -i: only the variables given (CI=true from a CI runner would make Ink print only its
    // last frame). The pane is kept after the program exits so its last screen can be read.
    await execa('tmux', ['-L', session.socket, '-f', '/dev/null', 'new-session', '-d', '-s', name, '-x', String(options.width ?? 80), '-y', String(options.height ?? 24), ...(options.cwd ? ['-c', options.cwd] : []), `${quoted}; echo "[exit $?]"; sleep 600`]);
    return session;
  }

  async screen(): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-t', this.name], { reject: false });
    return String(r.stdout);
  }

  /** Keys sent in one go, as fast as tmux can: the screen must take every one, in order. */
  async keys(...keys: string[]): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', '-t', this.name, ...keys]);
  }

  async text(text: string): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'send-keys', '-l', '-t', this.name, text]);
  }

  /** The pane with lines the terminal wrapped joined again (-J): a line wider than the pane shows as one. */
  async joinedScreen(): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-J', '-t', this.name], { reject: false });
    return String(r.stdout);
  }

  /** Waits until the last lines of the pane (where a line program's current prompt is) show `text`: not an answered prompt above. */
  async waitForPrompt(text: string, timeoutMs = 45_000, lines = 3): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      if (s.trimEnd().split('\n').slice(-lines).join('\n').includes(text)) return s;
      if (Date.now() > deadline) throw new Error(`the prompt never showed ${text}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** An @inquirer select: moves its pointer (❯) to the choice that says `label`, one Down at a time, then Enter. */
  async choose(label: string, tries = 15): Promise<void> {
    for (let i = 0; i < tries; i += 1) {
      const screen = await this.screen();
      if (screen.split('\n').find((l) => l.includes('❯'))?.includes(label)) return this.keys('Enter');
      await this.keys('Down');
      for (let wait = 0; wait < 100 && (await this.screen()) === screen; wait += 1) await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no choice "${label}" in the menu:\n${await this.screen()}`);
  }

  /** The pane and what scrolled off its top (the last `lines` lines of history): a line terminal's output goes by. */
  async scrollback(lines = 2000): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-S', `-${lines}`, '-t', this.name], { reject: false });
    return String(r.stdout);
  }

  /** The pane with its escape sequences, to see whether colour was drawn. */
  async screenWithEscapes(): Promise<string> {
    const r = await execa('tmux', ['-L', this.socket, 'capture-pane', '-p', '-e', '-t', this.name], { reject: false });
    return String(r.stdout);
  }

  async waitFor(pattern: string | RegExp, timeoutMs = 45_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await this.screen();
      if (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s)) return s;
      if (Date.now() > deadline) throw new Error(`terminal never showed ${String(pattern)}; screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async kill(): Promise<void> {
    await execa('tmux', ['-L', this.socket, 'kill-server'], { reject: false });
  }
}

/** The environment for the real binary in a tmux pane: a terminal, no colour, its own state home. */
export function terminalEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TERM: 'xterm-256color', NO_COLOR: '1', CERTWRIGHT_HOME: home, ...extra };
}

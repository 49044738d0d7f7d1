/**
 * A child process whose output a test follows: wait for a pattern on stdout
 * or stderr (failing at once, with the output, if the process ends first),
 * send it signals, and collect its exit code and output.
 *
 * @module
 */

/** A process started by {@linkcode follow}. */
export interface Followed {
  /** The child. */
  readonly child: Deno.ChildProcess;
  /** Resolves with stdout so far once it matches `pattern`. */
  waitOut(pattern: RegExp): Promise<string>;
  /** Resolves with stderr so far once it matches `pattern`. */
  waitErr(pattern: RegExp): Promise<string>;
  /** Awaits the exit; returns the code and the whole output. */
  finish(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * Spawns `program args` with piped output and follows it.
 *
 * @param program The executable.
 * @param args Its arguments.
 * @param options Working directory and environment (added to this process's).
 * @returns The followed process; call `finish()` before the test ends.
 */
export function follow(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Followed {
  const child = new Deno.Command(program, {
    args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const text = { out: "", err: "" };
  type Waiter = {
    stream: "out" | "err";
    pattern: RegExp;
    resolve: (s: string) => void;
    reject: (e: Error) => void;
  };
  const waiters = new Set<Waiter>();
  let ended: Deno.CommandStatus | undefined;
  function check(): void {
    for (const w of waiters) {
      if (w.pattern.test(text[w.stream])) {
        waiters.delete(w);
        w.resolve(text[w.stream]);
      } else if (ended) {
        waiters.delete(w);
        w.reject(
          new Error(
            `The process ended (code ${ended.code}) before ${w.pattern} appeared;\n` +
              `stdout:\n${text.out}\nstderr:\n${text.err}`,
          ),
        );
      }
    }
  }
  async function pump(
    stream: ReadableStream<Uint8Array>,
    name: "out" | "err",
  ): Promise<void> {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text[name] += chunk;
      check();
    }
  }
  const status = Promise.all([
    child.status,
    pump(child.stdout, "out"),
    pump(child.stderr, "err"),
  ]).then(([s]) => {
    ended = s;
    check();
    return s;
  });
  function wait(stream: "out" | "err", pattern: RegExp): Promise<string> {
    return new Promise((resolve, reject) => {
      waiters.add({ stream, pattern, resolve, reject });
      check();
    });
  }
  return {
    child,
    waitOut: (pattern) => wait("out", pattern),
    waitErr: (pattern) => wait("err", pattern),
    async finish() {
      const s = await status;
      return { code: s.code, stdout: text.out, stderr: text.err };
    },
  };
}

/** The shape every `churn-worker <subcommand>` module exports. */
export interface Command {
  name: string;
  /** One line for `churn-worker --help`. */
  summary: string;
  /** Full usage text for `churn-worker <name> --help`. */
  usage: string;
  /** Runs the subcommand; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** The shape every `churn-worker <subcommand>` module exports. */
export interface Command {
  name: string;
  /** One line for `churn-worker --help`. */
  summary: string;
  /** Full usage text for `churn-worker <name> --help`. */
  usage: string;
  /** True when the subcommand answers `--help` itself (it dispatches to named sub-subcommands). */
  handlesHelp?: boolean;
  /** Runs the subcommand; resolves to the process exit code. */
  run(argv: string[]): Promise<number>;
}

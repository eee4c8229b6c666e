package dev.drover.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** The `drover` command: one subcommand per verb. */
@Command(name = "drover", mixinStandardHelpOptions = true, versionProvider = DroverCommand.Version.class,
        description = "Run thousands of independent tasks on this machine, a SLURM cluster or Kubernetes from one"
                + " task manifest.",
        subcommands = {RunCommand.class, ValidateCommand.class, ServeCommand.class, SubmitCommand.class,
                StatusCommand.class, LogsCommand.class, CancelCommand.class, ResumeCommand.class, ReportCommand.class,
                RerunCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class DroverCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // vfork starts a task process about twice as fast as the JDK 17 default (posix_spawn) on Linux;
        // set before the first process is started.
        if (System.getProperty("jdk.lang.Process.launchMechanism") == null) {
            System.setProperty("jdk.lang.Process.launchMechanism", "VFORK");
        }
        configureLogging(args);
        System.exit(commandLine().execute(args));
    }

    public static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new DroverCommand());
        ErrorHandler errors = new ErrorHandler();
        cli.setExecutionExceptionHandler(errors);
        cli.setParameterExceptionHandler(errors);
        return cli;
    }

    /** Terminal commands keep drover's own log quiet; the daemon logs what it does. DROVER_LOG_LEVEL overrides. */
    private static void configureLogging(String[] args) {
        String level = System.getenv("DROVER_LOG_LEVEL");
        if (level == null) {
            level = args.length > 0 && args[0].equals("serve") ? "info" : "warn";
        }
        System.setProperty("org.slf4j.simpleLogger.log.dev.drover", level);
    }

    /** `drover` alone: the commands, on stderr, and the exit status of a usage error. */
    @Override
    public Integer call() {
        spec.commandLine().getErr().println("drover: give a command");
        spec.commandLine().usage(spec.commandLine().getErr());
        return ErrorHandler.USAGE;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = DroverCommand.class.getPackage().getImplementationVersion();
            return new String[]{"drover " + (version != null ? version : "(development build)")};
        }
    }
}

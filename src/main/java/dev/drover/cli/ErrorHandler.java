package dev.drover.cli;

import dev.drover.manifest.ManifestException;
import picocli.CommandLine;

/** Turns a bad manifest or flag into one line on stderr and exit status 2; anything else is a bug worth a trace. */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler {

    static final int USAGE = 2;

    @Override
    public int handleExecutionException(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        Throwable cause = e;
        while (cause != null && !(cause instanceof ManifestException)) {
            cause = cause.getCause();
        }
        if (cause != null) {
            cli.getErr().println("drover: " + cause.getMessage());
            return USAGE;
        }
        cli.getErr().println("drover: " + e);
        e.printStackTrace(cli.getErr());
        return 3;
    }
}

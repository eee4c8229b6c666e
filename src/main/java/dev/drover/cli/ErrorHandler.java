package dev.drover.cli;

import dev.drover.manifest.ManifestException;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.util.Locale;

/**
 * The one place where an error reaches the user: one or two lines on stderr, never a stack trace unless
 * DROVER_LOG_LEVEL=debug. A bad manifest, flag or path is the user's to fix (exit 2); anything else is drover's
 * (exit 3), still in one line.
 */
final class ErrorHandler implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {

    static final int USAGE = 2;
    static final int INTERNAL = 3;

    /** A mistake of the user's that the message alone explains (e.g. no such run): one line, exit 2. */
    static final class UserError extends RuntimeException {
        UserError(String message) {
            super(message);
        }
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine cli, CommandLine.ParseResult parsed) {
        PrintWriter err = cli.getErr();
        RuntimeException bad = cause(e, ManifestException.class);
        if (bad == null) {
            bad = cause(e, UserError.class);
        }
        FileSystemException path = cause(e, FileSystemException.class);
        int code;
        if (bad != null) {
            err.println("drover: " + bad.getMessage());
            code = USAGE;
        } else if (path != null) {
            err.println("drover: cannot use " + path.getFile() + ": " + reason(path));
            code = USAGE;
        } else {
            Throwable root = root(e);
            err.println("drover: internal error: " + root.getClass().getSimpleName()
                    + (root.getMessage() != null ? ": " + root.getMessage().lines().findFirst().orElse("") : ""));
            if (!debug()) {
                err.println("drover: DROVER_LOG_LEVEL=debug shows where it happened");
            }
            code = INTERNAL;
        }
        if (debug()) {
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }

    /** A wrong or missing argument: the problem and the command's synopsis, not the whole help. */
    @Override
    public int handleParseException(CommandLine.ParameterException e, String[] args) {
        CommandLine cli = e.getCommandLine();
        PrintWriter err = cli.getErr();
        err.println("drover: " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.print(cli.getHelp().fullSynopsis());
        err.printf("Try '%s --help' for more.%n", cli.getCommandSpec().qualifiedName());
        err.flush();
        return USAGE;
    }

    /** What went wrong, without the wrappers (CompletionException, CamelExecutionException) a user cannot act on. */
    static String rootMessage(Throwable e) {
        Throwable root = root(e);
        return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    }

    private static Throwable root(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }

    static String reason(FileSystemException e) {
        String reason = e.getReason();
        if (reason != null) {
            return reason;
        }
        String kind = e.getClass().getSimpleName().replace("Exception", "");
        return switch (kind) {
            case "AccessDenied" -> "permission denied";
            case "NoSuchFile" -> "no such file or folder";
            case "NotDirectory" -> "not a folder";
            case "FileAlreadyExists" -> "a file of that name is in the way";
            default -> kind.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT);
        };
    }

    private static <T extends Throwable> T cause(Throwable e, Class<T> type) {
        for (Throwable at = e; at != null; at = at.getCause() == at ? null : at.getCause()) {
            if (type.isInstance(at)) {
                return type.cast(at);
            }
        }
        return null;
    }

    static boolean debug() {
        String level = System.getenv("DROVER_LOG_LEVEL");
        return level != null && (level.equalsIgnoreCase("debug") || level.equalsIgnoreCase("trace"));
    }
}

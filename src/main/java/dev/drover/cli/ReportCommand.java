package dev.drover.cli;

import dev.drover.report.Efficiency;
import dev.drover.report.HtmlReport;
import dev.drover.report.RunFacts;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** `drover report`: a finished run's HTML report, written again or elsewhere, and its right-sizing advice. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = {"Write the HTML report of a finished run (summary, failed tasks with their log tails, timeline,"
                + " duration and memory histograms, efficiency and advice): one self-contained file, from its"
                + " report.json. drover writes it beside report.json at the end of every run; this writes it again.",
                "Prints the file written and, when the run has usage figures, the one-line right-sizing advice."})
final class ReportCommand implements Callable<Integer> {

    @Option(names = "--html", paramLabel = "FILE",
            description = "Where to write the page (default: report.html in the run directory).")
    Path html;

    @Mixin
    RunArgument run;

    @Override
    public Integer call() throws Exception {
        Path runDir = run.finishedDir();
        if (html != null && Files.isDirectory(html)) {
            System.err.println("drover: --html " + html + " is a directory: give a file name, e.g. "
                    + html.resolve(HtmlReport.FILE));
            return ErrorHandler.USAGE;
        }
        if (html != null && !Files.isDirectory(html.toAbsolutePath().getParent())) {
            System.err.println("drover: --html " + html + ": no directory " + html.toAbsolutePath().getParent());
            return ErrorHandler.USAGE;
        }
        Path written = HtmlReport.write(runDir, html == null ? null : html.toAbsolutePath());
        System.out.println("report " + written);
        String advice = Efficiency.of(RunFacts.read(runDir)).summary();
        if (advice != null) {
            System.out.println("advice: " + advice);
        }
        return 0;
    }
}

package dev.drover.slurm;

import dev.drover.TestPipeline;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.drover.HostileArgv;
import dev.drover.Await;
import dev.drover.camel.DroverRuntime;
import dev.drover.cluster.ClusterMeters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import dev.drover.cli.DroverCommand;
import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Run;
import dev.drover.run.RunState;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SLURM lanes against a real single-node SLURM cluster (MaxArraySize 10, 16 CPUs), through the whole pipeline:
 * routes, camel-exec sbatch, tracker, report.json. The TIMEOUT run is started first and checked last, so that its
 * minute-long time limit overlaps the other tests.
 */
@ExtendWith(SlurmClusterExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SlurmLaneIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String RESOURCES = "mem=20M,time=00:05:00";

    @TempDir
    static Path tmp;
    static DroverRuntime runtime;
    static CompletableFuture<Run> timeoutRun;

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> overrides = Map.of(
                "drover.runs-dir", tmp.resolve("runs").toString(),
                "drover.slurm.poll-initial", "200",
                "drover.slurm.poll-max", "2000",
                "drover.slurm.squeue-min-interval", "1000",
                "drover.slurm.exit-grace", "2000",
                "drover.slurm.submit-retry-initial", "500",
                "drover.slurm.submit-retry-max", "2000");
        runtime = DroverRuntime.start(Path.of("").toAbsolutePath(), overrides);
        // SLURM enforces a time limit of 1 minute 60-90 s after the start: begin now, check at the end.
        timeoutRun = CompletableFuture.completedFuture(TestPipeline.submit(runtime, plan("""
                name: limit
                tasks:
                  - id: sleeper
                    command: [sleep, "300"]
                  - id: quick
                    command: [echo, quick]
                """, "slurm", null, "mem=20M,time=1")));
    }

    @AfterAll
    static void stop() throws Exception {
        if (runtime != null) {
            runtime.runs().cancelAll(java.time.Duration.ofSeconds(10));
            runtime.close();
        }
    }

    static RunPlan plan(String yaml, String strategy, Integer jobs, String resources) {
        return RunPlan.resolve(ManifestReader.parse(yaml), new RunOptions(strategy, jobs, resources));
    }

    static JsonNode runToEnd(RunPlan plan, long seconds) throws Exception {
        Run run = TestPipeline.submit(runtime, plan);
        run.finished().get(seconds, TimeUnit.SECONDS);
        return report(run);
    }

    static JsonNode report(Run run) throws IOException {
        return JSON.readTree(run.dir().resolve("report.json").toFile());
    }

    static JsonNode task(JsonNode report, String id) {
        for (JsonNode t : report.get("tasks")) {
            if (t.get("id").asText().equals(id)) {
                return t;
            }
        }
        throw new AssertionError("no task " + id + " in " + report);
    }

    static String log(JsonNode report, String id) throws IOException {
        Path dir = tmp.resolve("runs").resolve(report.get("runId").asText());
        return Files.readString(dir.resolve(task(report, id).get("log").asText()), StandardCharsets.UTF_8);
    }

    static List<String> squeue(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("squeue", "--noheader"));
        argv.addAll(List.of(args));
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return out.lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    @Order(1)
    void tasksSucceedAndFailWithTheirOwnExitCodes() throws Exception {
        JsonNode report = runToEnd(plan("""
                name: codes
                tasks:
                  - id: ok
                    command: [sh, -c, 'echo "hello $GREETING from $DROVER_TASK_ID"']
                    env: {GREETING: "it's me"}
                  - id: three
                    command: [sh, -c, 'echo failing >&2; exit 3']
                  - id: fortytwo
                    command: [sh, -c, 'exit 42']
                  - id: missing
                    command: [/no/such/program]
                """, "slurm", null, RESOURCES), 60);
        assertEquals("FAILED", report.get("state").asText());
        assertEquals("SUCCEEDED", task(report, "ok").get("state").asText());
        assertEquals(0, task(report, "ok").get("exitCode").asInt());
        assertEquals("hello it's me from ok\n", log(report, "ok"));
        assertEquals(3, task(report, "three").get("exitCode").asInt());
        assertEquals("failing\n", log(report, "three"));
        assertEquals(42, task(report, "fortytwo").get("exitCode").asInt());
        assertEquals(127, task(report, "missing").get("exitCode").asInt());
        for (String id : List.of("three", "fortytwo", "missing")) {
            assertEquals("FAILED", task(report, id).get("state").asText(), id);
        }
        Set<String> arrays = new HashSet<>();
        for (JsonNode t : report.get("tasks")) {
            String backendId = t.get("backendId").asText();
            assertTrue(backendId.matches("\\d+_" + t.get("index").asInt()), backendId);
            arrays.add(backendId.substring(0, backendId.indexOf('_')));
        }
        assertEquals(1, arrays.size(), "four tasks make one array");
        assertEquals("COMPLETED", task(report, "ok").get("backendState").asText());
    }

    @Test
    @Order(1)
    void aProgramWhosePathHoldsAnEqualsSignGetsItsArgvByteExactAndDroversVariablesWin() throws Exception {
        Path tool = HostileArgv.argvPrinter(tmp.resolve("tools/a=b/tool=1"));
        List<String> args = HostileArgv.everyKindOfArgument();
        List<String> command = new ArrayList<>(List.of(tool.toString()));
        command.addAll(args);
        Map<String, Object> printer = Map.of("id", "printer", "command", command);
        Map<String, Object> env = Map.of("id", "env", "command", List.of("sh", "-c", "echo \"$DROVER_TASK_ID $V\""));
        String manifest = JSON.writeValueAsString(Map.of("name", "bytes", "tasks", List.of(printer, env),
                "env", Map.of("DROVER_TASK_ID", "mine", "V", "v")));
        for (String strategy : List.of("slurm", "slurm+batching")) {
            JsonNode report = runToEnd(plan(manifest, strategy, strategy.equals("slurm") ? null : 1, RESOURCES), 90);
            assertEquals("SUCCEEDED", report.get("state").asText(), strategy + ": " + report);
            Path printerLog = tmp.resolve("runs").resolve(report.get("runId").asText())
                    .resolve(task(report, "printer").get("log").asText());
            assertEquals(args, HostileArgv.printed(printerLog), strategy);
            assertEquals("env v\n", log(report, "env"), strategy);
        }
    }

    @Test
    @Order(1)
    void theManifestsTaskTimeoutApplies() throws Exception {
        JsonNode report = runToEnd(plan("""
                name: tasktimeout
                timeout: 2s
                tasks:
                  - id: slow
                    command: [sleep, "60"]
                  - id: fast
                    command: ["true"]
                """, "slurm", null, RESOURCES), 60);
        assertEquals("FAILED", task(report, "slow").get("state").asText());
        assertEquals(124, task(report, "slow").get("exitCode").asInt());
        assertEquals("timed out after 2s", task(report, "slow").get("reason").asText());
        assertEquals("SUCCEEDED", task(report, "fast").get("state").asText());
    }

    @Test
    @Order(2)
    void moreTasksThanMaxArraySizeAreChunkedIntoThrottledArrays() throws Exception {
        JsonNode report = runToEnd(plan("""
                name: chunks
                command: [sh, -c, 'echo "task {index} element $SLURM_ARRAY_TASK_ID"']
                range: {start: 0, end: 25}
                """, "slurm", 4, RESOURCES), 120);
        assertEquals("SUCCEEDED", report.get("state").asText());
        Path slurmDir = tmp.resolve("runs").resolve(report.get("runId").asText()).resolve("slurm");
        List<String> specs = new ArrayList<>();
        for (String key : List.of("a0001", "a0002", "a0003")) {
            String script = Files.readString(slurmDir.resolve(key).resolve("job.sbatch"));
            specs.add(script.lines().filter(l -> l.startsWith("#SBATCH --array=")).findFirst().orElseThrow());
        }
        assertEquals(List.of("#SBATCH --array=\"0-9%4\"", "#SBATCH --array=\"0-9%4\"", "#SBATCH --array=\"0-4%4\""),
                specs);
        assertFalse(Files.exists(slurmDir.resolve("a0004")), "three sbatch calls for 25 tasks");
        Set<String> jobIds = new HashSet<>();
        for (int i = 0; i < 25; i++) {
            JsonNode t = report.get("tasks").get(i);
            String backendId = t.get("backendId").asText();
            jobIds.add(backendId.substring(0, backendId.indexOf('_')));
            assertEquals(i % 10, Integer.parseInt(backendId.substring(backendId.indexOf('_') + 1)));
            // each element ran exactly its own task
            assertEquals("task " + i + " element " + (i % 10) + "\n", log(report, t.get("id").asText()));
        }
        assertEquals(3, jobIds.size());
    }

    @Test
    @Order(3)
    void batchingWithJobsRunsEachBatchInOrderAndKeepsEveryExitCode() throws Exception {
        Path order = tmp.resolve("order");
        Files.createDirectories(order);
        JsonNode report = runToEnd(plan("""
                name: batches
                command: [sh, -c, 'date +%s%N >> "$ORDER/$SLURM_ARRAY_TASK_ID"; echo {item} >> "$ORDER/$SLURM_ARRAY_TASK_ID"; [ {item} != 1 ] || exit 5']
                range: {start: 0, end: 10}
                env: {ORDER: "ORDER_DIR"}
                """.replace("ORDER_DIR", order.toString()), "slurm+batching", 3, RESOURCES), 60);
        assertEquals("FAILED", report.get("state").asText());
        assertEquals(1, report.get("counts").get("failed").asInt());
        assertEquals(5, task(report, "1").get("exitCode").asInt());
        for (String id : List.of("0", "2", "3", "4", "9")) {
            assertEquals("SUCCEEDED", task(report, id).get("state").asText(), "sibling " + id);
        }
        // --jobs 3 on 10 tasks: one array of 3 elements holding 4, 4 and 2 tasks
        String array = task(report, "0").get("backendId").asText().split("_")[0];
        for (int i = 0; i < 10; i++) {
            assertEquals(array + "_" + (i / 4), report.get("tasks").get(i).get("backendId").asText());
        }
        List<String> firstBatch = Files.readAllLines(order.resolve("0")).stream()
                .filter(l -> l.length() < 5).toList();
        assertEquals(List.of("0", "1", "2", "3"), firstBatch, "tasks of a batch run one after another in order");
        assertEquals(List.of("8", "9"), Files.readAllLines(order.resolve("2")).stream().filter(l -> l.length() < 5)
                .toList());
    }

    @Test
    @Order(4)
    void batchingWithBatchSize() throws Exception {
        JsonNode report = runToEnd(plan("""
                name: bsize
                command: [echo, "{item}"]
                items: [a, b, c, d, e, f, g]
                """, "slurm+batching", null, "batch-size=3," + RESOURCES), 60);
        assertEquals("SUCCEEDED", report.get("state").asText());
        Path script = tmp.resolve("runs").resolve(report.get("runId").asText()).resolve("slurm/a0001/job.sbatch");
        assertTrue(Files.readString(script).contains("#SBATCH --array=\"0-2\"\n"), "7 tasks by 3: 3 elements");
        assertFalse(Files.readString(script).contains("batch"), "batch-size never reaches sbatch");
        assertEquals("g\n", log(report, "6"));
        assertTrue(task(report, "6").get("backendId").asText().endsWith("_2"));
    }

    @Test
    @Order(5)
    void jobsTogetherWithBatchSizeIsRefused() {
        ManifestException e = assertThrows(ManifestException.class, () -> plan("""
                name: both
                command: [echo, "{item}"]
                items: [a, b]
                """, "slurm+batching", 2, "batch-size=1," + RESOURCES));
        assertTrue(e.getMessage().contains("mutually exclusive"), e.getMessage());
        assertEquals(2, DroverCommand.commandLine().execute("validate", write("both.yaml", """
                name: both
                command: [echo, "{item}"]
                items: [a, b]
                """), "--distribution-strategy", "slurm+batching", "--jobs", "2",
                "--job-resources", "batch-size=1,mem=10M"));
    }

    @Test
    @Order(6)
    void injectionAttemptsInJobResourcesAreRefusedBeforeSbatch() throws Exception {
        String manifest = """
                name: inject
                tasks:
                  - command: [touch, "%s"]
                """.formatted(tmp.resolve("pwned"));
        List<String> attacks = List.of(
                "mem=1G\n#SBATCH --wrap=touch",
                "partition=debug\"; touch /tmp/pwned; \"",
                "time=00:05:00$(touch /tmp/pwned)",
                "mem=1G`id`",
                "{\"partition\": \"debug\\n#SBATCH --output=/etc/passwd\"}",
                "{\"mem\": \"1G\\\" --wrap=\\\"touch x\"}",
                "nodelist=vm;reboot",
                "wrap=touch");
        Path runs = tmp.resolve("inject-runs");
        for (String attack : attacks) {
            assertThrows(ManifestException.class, () -> plan(manifest, "slurm", null, attack), attack);
            int exit = DroverCommand.commandLine().execute("run", write("inject.yaml", manifest),
                    "--distribution-strategy", "slurm", "--job-resources", attack, "--runs-dir", runs.toString());
            assertEquals(2, exit, attack);
        }
        assertFalse(Files.exists(runs), "nothing was accepted, so nothing reached sbatch");
        assertFalse(Files.exists(tmp.resolve("pwned")));
        assertTrue(squeue("--name=drover-inject").isEmpty());
    }

    @Test
    @Order(7)
    void anSbatchErrorFailsTheRunWithSlurmsMessage() throws Exception {
        JsonNode report = runToEnd(plan("""
                name: refused
                command: [echo, "{item}"]
                range: {start: 0, end: 12}
                """, "slurm", null, "partition=nosuchpartition,mem=10M"), 60);
        assertEquals("FAILED", report.get("state").asText());
        assertEquals(12, report.get("counts").get("failed").asInt());
        String reason = task(report, "11").get("reason").asText();
        assertTrue(reason.contains("invalid partition"), reason);
    }

    @Test
    @Order(8)
    void failedTasksAreRetriedAsANewSmallerArray() throws Exception {
        Path marks = tmp.resolve("marks");
        Files.createDirectories(marks);
        JsonNode report = runToEnd(plan("""
                name: retry
                command: [sh, -c, 'if [ {item} = b ] && [ ! -e "%1$s/{item}" ]; then touch "%1$s/{item}"; exit 4; fi; echo "ok $DROVER_ATTEMPT"']
                items: [a, b, c]
                retries: 1
                """.formatted(marks), "slurm", null, RESOURCES), 60);
        assertEquals("SUCCEEDED", report.get("state").asText());
        assertEquals(2, task(report, "1").get("attempts").asInt());
        assertEquals(1, task(report, "0").get("attempts").asInt());
        Path dir = tmp.resolve("runs").resolve(report.get("runId").asText());
        assertTrue(Files.readString(dir.resolve("slurm/a0002/job.sbatch")).contains("#SBATCH --array=\"0-0\"\n"));
        assertTrue(log(report, "1").endsWith("ok 2\n"), log(report, "1"));
    }

    @Test
    @Order(9)
    void cancellingScancelsEveryJobOfTheRun() throws Exception {
        Run run = TestPipeline.submit(runtime, plan("""
                name: cancelme
                command: [sleep, "120"]
                range: {start: 0, end: 15}
                """, "slurm", null, RESOURCES));
        List<String> jobIds = backendJobIds(run);
        assertEquals(2, jobIds.size(), "15 tasks, two arrays");
        waitUntil(() -> !squeue("--jobs=" + String.join(",", jobIds), "--states=RUNNING").isEmpty(), 20);
        double scancels = meter(SlurmCommands.CALLS, "scancel");
        run.cancel();
        assertEquals(RunState.CANCELLED, run.finished().get(30, TimeUnit.SECONDS));
        assertEquals(1, meter(SlurmCommands.CALLS, "scancel") - scancels, "one scancel for both arrays");
        assertEquals(List.of(), squeue("--jobs=" + String.join(",", jobIds)), "no job of the run is left");
        JsonNode report = report(run);
        assertEquals(15, report.get("counts").get("cancelled").asInt());
        assertEquals("CANCELLED", report.get("state").asText());
    }

    @Test
    @Order(9)
    void droverCancelFromAnotherProcessCancelsTheRun() throws Exception {
        Run run = TestPipeline.submit(runtime, plan("""
                name: cancelcli
                command: [sleep, "120"]
                range: {start: 0, end: 3}
                """, "slurm", null, RESOURCES));
        List<String> jobIds = backendJobIds(run);
        int exit = DroverCommand.commandLine().execute("cancel", run.id(), "--runs-dir",
                tmp.resolve("runs").toString(), "--timeout", "30");
        assertEquals(0, exit);
        assertEquals(RunState.CANCELLED, run.finished().get(30, TimeUnit.SECONDS));
        assertEquals(List.of(), squeue("--jobs=" + String.join(",", jobIds)), "no job of the run is left");
        assertEquals(2, DroverCommand.commandLine().execute("cancel", "no-such-run", "--runs-dir",
                tmp.resolve("runs").toString()));
    }

    @Test
    @Order(10)
    void aControllerRestartDuringARunDoesNotFailIt() throws Exception {
        Run running = TestPipeline.submit(runtime, plan("""
                name: restart
                command: [sh, -c, 'sleep 4; echo {item}']
                range: {start: 0, end: 6}
                """, "slurm", null, RESOURCES));
        backendJobIds(running);
        double squeueFailures = meter(SlurmCommands.FAILURES, "squeue");
        double sbatchRetries = meter(SlurmBackend.SBATCH_RETRIES, null);
        SlurmClusterExtension.stopController();
        // a second run submits while the controller is down: sbatch fails, is retried
        CompletableFuture<Run> late = CompletableFuture.supplyAsync(() -> TestPipeline.submit(runtime, plan("""
                name: restart2
                command: [echo, "{item}"]
                range: {start: 0, end: 3}
                """, "slurm", null, RESOURCES)));
        // the running tasks finish while slurmctld is down; each sbatch gives up after ~9 s and is tried again
        Await.until("sbatch retried and squeue failed while slurmctld is down", Duration.ofSeconds(60),
                () -> meter(SlurmBackend.SBATCH_RETRIES, null) > sbatchRetries
                        && meter(SlurmCommands.FAILURES, "squeue") > squeueFailures);
        assertFalse(late.isDone(), "the late run is still trying to submit");
        SlurmClusterExtension.startAgain();
        assertEquals(RunState.SUCCEEDED, running.finished().get(90, TimeUnit.SECONDS));
        assertEquals(RunState.SUCCEEDED, late.get(90, TimeUnit.SECONDS).finished().get(60, TimeUnit.SECONDS));
        assertEquals("5\n", log(report(running), "5"));
        assertTrue(meter(SlurmCommands.FAILURES, "squeue") > squeueFailures, "squeue failed while slurmctld was down");
        assertTrue(meter(SlurmBackend.SBATCH_RETRIES, null) > sbatchRetries, "sbatch was retried");
    }

    @Test
    @Order(11)
    void dryRunWritesTheScriptsAndSubmitsNothing() throws Exception {
        Path runs = tmp.resolve("dry-runs");
        String file = write("dry.yaml", """
                name: dryrun
                command: [echo, "{item}"]
                range: {start: 0, end: 23}
                """);
        java.io.StringWriter out = new java.io.StringWriter();
        picocli.CommandLine cli = DroverCommand.commandLine();
        cli.setOut(new java.io.PrintWriter(out));
        int exit = cli.execute("run", file, "--dry-run", "--distribution-strategy", "slurm",
                "--job-resources", RESOURCES, "--runs-dir", runs.toString());
        assertEquals(0, exit, out.toString());
        List<Path> scripts;
        try (Stream<Path> walk = Files.walk(runs)) {
            scripts = walk.filter(p -> p.getFileName().toString().equals("job.sbatch")).sorted().toList();
        }
        assertEquals(3, scripts.size(), out.toString());
        for (Path script : scripts) {
            assertTrue(out.toString().contains(script.toString()), out.toString());
        }
        assertTrue(squeue("--name=drover-dryrun").isEmpty(), "nothing submitted");
    }

    @Test
    @Order(99)
    void aTimeLimitIsReportedWithSlurmsState() throws Exception {
        Run run = timeoutRun.get();
        assertEquals(RunState.FAILED, run.finished().get(150, TimeUnit.SECONDS));
        JsonNode report = report(run);
        JsonNode sleeper = task(report, "sleeper");
        assertEquals("FAILED", sleeper.get("state").asText());
        assertEquals("TIMEOUT", sleeper.get("backendState").asText());
        assertTrue(sleeper.get("reason").asText().contains("TIMEOUT"), sleeper.toString());
        assertEquals("SUCCEEDED", task(report, "quick").get("state").asText());
    }

    // ---------------------------------------------------------------------------------------------------------

    /** Waits until every task of the run has a backend id (all submitted); the distinct array job ids. */
    static List<String> backendJobIds(Run run) throws Exception {
        waitUntil(() -> JSON.readTree(journalAsReport(run)).size() == run.taskCount(), 30);
        return new ArrayList<>(JSON.readTree(journalAsReport(run)).findValuesAsText("id").stream()
                .collect(Collectors.toCollection(java.util.TreeSet::new)));
    }

    /** The backend ids recorded in the journal so far, as a JSON array of {id}. */
    static String journalAsReport(Run run) throws IOException {
        Map<String, String> ids = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(run.dir().resolve("journal.log"))) {
            String[] f = line.split("\t", -1);
            if (f[0].equals("backend") && !f[3].isEmpty()) {
                ids.put(f[2], f[3].split("_")[0]);
            }
        }
        return JSON.writeValueAsString(ids.values().stream().map(id -> Map.of("id", id)).toList());
    }

    interface Check {
        boolean ok() throws Exception;
    }

    /** A counter of the lanes' meters (0 before its first count); {@code command} tags the SLURM call meters. */
    static double meter(String name, String command) {
        MeterRegistry meters = runtime.context().getRegistry()
                .lookupByNameAndType(ClusterMeters.BEAN, ClusterMeters.class).registry();
        Counter counter = command == null ? meters.find(name).counter()
                : meters.find(name).tag("command", command).counter();
        return counter == null ? 0 : counter.count();
    }

    static void waitUntil(Check check, int seconds) {
        Await.until("the condition", java.time.Duration.ofSeconds(seconds), check::ok);
    }

    static String write(String name, String text) {
        try {
            Path file = tmp.resolve(name);
            Files.writeString(file, text);
            return file.toString();
        } catch (IOException e) {
            throw new RuntimeException(e);
        }
    }
}

package dev.drover.serve;

import jakarta.jms.JMSConsumer;
import jakarta.jms.JMSContext;
import jakarta.jms.JMSProducer;
import jakarta.jms.Message;
import jakarta.jms.Queue;
import jakarta.jms.TextMessage;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * bench/queue-throughput.sh: N one-task manifests through `drover serve --queue` (bin/drover, as a user starts it)
 * on a persistent broker, timed from the first send to the N-th run-finished event; against, in the same run and on
 * the same broker, a plain JMS loop that takes the same N messages one transaction each and only commits (what a
 * consumer that does no work at all achieves). The manifests run once with the default strategy (multiprocessing:
 * a lane of its own per run) and once with sequential (no lane of their own), which tells the lane's share.
 * <p>
 * Usage: QueueThroughput N WORK_DIR DROVER_BIN [KEY=VALUE...]   (settings for serve, e.g. drover.queue.consumers=8)
 */
public final class QueueThroughput {

    /** Linux's USER_HZ, the unit of /proc/PID/stat times, on every architecture drover runs on. */
    private static final long TICKS_PER_SECOND = 100;

    private QueueThroughput() {
    }

    public static void main(String[] args) throws Exception {
        // the embedded broker's warnings (e.g. each client connection that serve's stop cuts) would land in the
        // middle of the figures; set before its first logger is made
        System.setProperty("org.slf4j.simpleLogger.log.org.apache.activemq", "error");
        int n = Integer.parseInt(args[0]);
        Path work = Path.of(args[1]);
        String drover = args[2];
        List<String> settings = List.of(args).subList(3, args.length);
        try (TestBroker broker = new TestBroker(work.resolve("broker"), true)) {
            double plain = plainLoop(broker, n);
            Figure multi = serve(broker, n, work, drover, "multiprocessing", settings);
            Figure sequential = serve(broker, n, work, drover, "sequential", settings);
            System.out.printf("%d one-task manifests (echo), persistent broker, drover serve %s%n", n,
                    settings.isEmpty() ? "defaults" : String.join(" ", settings));
            System.out.printf("plain JMS loop (receive + commit, no work): %6.1f msgs/s (%.2f s)%n", n / plain, plain);
            for (Figure figure : List.of(multi, sequential)) {
                System.out.printf("drover serve --queue, %-16s %6.1f runs/s (%.2f s) = %.2f x the plain loop;"
                                + " CPU %.1f ms a run%n", figure.strategy() + ":", n / figure.seconds(),
                        figure.seconds(), plain / figure.seconds(), figure.cpuPerRun());
            }
        }
        System.exit(0);
    }

    private static String manifest(int i, String strategy) {
        return "name: bench-" + i + "\nstrategy: " + strategy + "\ntasks:\n  - {id: t, command: [echo, " + i + "]}\n";
    }

    private static double plainLoop(TestBroker broker, int n) {
        try (JMSContext jms = broker.client(); JMSContext tx = broker.client().createContext(JMSContext.SESSION_TRANSACTED)) {
            Queue queue = jms.createQueue("baseline");
            long start = System.nanoTime();
            JMSProducer producer = jms.createProducer();
            for (int i = 0; i < n; i++) {
                producer.send(queue, manifest(i, "multiprocessing"));
            }
            JMSConsumer consumer = tx.createConsumer(tx.createQueue("baseline"));
            for (int i = 0; i < n; i++) {
                if (consumer.receive(10_000) == null) {
                    throw new IllegalStateException("baseline: message " + i + " missing");
                }
                tx.commit();
            }
            return (System.nanoTime() - start) / 1e9;
        }
    }

    /** Seconds for the N runs, and CPU milliseconds per run of the serve process and the tasks it waited for. */
    private record Figure(String strategy, double seconds, double cpuPerRun) {
    }

    /**
     * CPU time of a process and its waited-for children (its tasks), from /proc; -1 where there is none. Unlike the
     * seconds, it hardly depends on what else the machine is doing: the figure to compare on a busy machine.
     */
    private static long cpuMillis(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = 0;
            for (int field = 11; field <= 14; field++) { // utime, stime, cutime, cstime
                ticks += Long.parseLong(fields[field]);
            }
            return ticks * 1000 / TICKS_PER_SECOND;
        } catch (java.io.IOException | RuntimeException e) {
            return -1;
        }
    }

    private static Figure serve(TestBroker broker, int n, Path work, String drover, String strategy,
                                List<String> settings) throws Exception {
        int port = TestBroker.freePort();
        Path runs = work.resolve("runs-" + strategy);
        Path log = work.resolve("serve-" + strategy + ".log");
        List<String> command = new ArrayList<>(List.of(drover, "serve", "--queue", broker.url(), "--queue-name",
                "bench", "--runs-dir", runs.toString(), "--observe-port", Integer.toString(port),
                "-D", "drover.events.destination=queue:bench.events"));
        settings.forEach(setting -> command.addAll(List.of("-D", setting)));
        Process serve = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try (JMSContext jms = broker.client()) {
            awaitReady(port, serve, log);
            JMSConsumer events = jms.createConsumer(jms.createQueue("bench.events"));
            long start = System.nanoTime();
            long cpuAtStart = cpuMillis(serve.pid());
            JMSProducer producer = jms.createProducer();
            for (int i = 0; i < n; i++) {
                producer.send(jms.createQueue("bench"), manifest(i, strategy));
            }
            Set<String> finished = new HashSet<>();
            long deadline = System.currentTimeMillis() + 600_000;
            while (finished.size() < n) {
                Message event = events.receive(1000);
                if (System.currentTimeMillis() > deadline || !serve.isAlive()) {
                    throw new IllegalStateException(finished.size() + " of " + n + " runs finished; see " + log);
                }
                // only this serve's runs: the events queue is shared with the earlier measurement
                if (event != null && "run-finished".equals(event.getStringProperty("DroverEvent"))
                        && Files.isDirectory(runs.resolve(event.getStringProperty("DroverRunId")))) {
                    finished.add(event.getStringProperty("DroverRunId"));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long cpu = cpuMillis(serve.pid()) - cpuAtStart;
            List<String> failed = finished.stream().filter(id -> !Files.exists(runs.resolve(id)
                    .resolve("report.json"))).toList();
            if (!failed.isEmpty()) {
                throw new IllegalStateException("runs without a report: " + failed);
            }
            return new Figure(strategy, seconds, cpu < 0 ? Double.NaN : (double) cpu / n);
        } finally {
            serve.destroy();
            serve.waitFor(60, TimeUnit.SECONDS);
        }
    }

    private static void awaitReady(int port, Process serve, Path log) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/observe/health/ready"))
                .build();
        long deadline = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < deadline && serve.isAlive()) {
            try {
                if (http.send(ready, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("drover serve did not get ready; see " + log);
    }
}

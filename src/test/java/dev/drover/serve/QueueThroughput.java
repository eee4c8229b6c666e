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
 * Usage: QueueThroughput N WORK_DIR DROVER_BIN
 */
public final class QueueThroughput {

    private QueueThroughput() {
    }

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        Path work = Path.of(args[1]);
        String drover = args[2];
        try (TestBroker broker = new TestBroker(work.resolve("broker"), true)) {
            double plain = plainLoop(broker, n);
            double multi = serve(broker, n, work, drover, "multiprocessing");
            double sequential = serve(broker, n, work, drover, "sequential");
            System.out.printf("%d one-task manifests (echo), persistent broker, drover serve defaults%n", n);
            System.out.printf("plain JMS loop (receive + commit, no work): %6.1f msgs/s (%.2f s)%n", n / plain, plain);
            System.out.printf("drover serve --queue, multiprocessing:     %6.1f runs/s (%.2f s) = %.2f x the plain loop%n",
                    n / multi, multi, plain / multi);
            System.out.printf("drover serve --queue, sequential:          %6.1f runs/s (%.2f s) = %.2f x the plain loop%n",
                    n / sequential, sequential, plain / sequential);
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

    private static double serve(TestBroker broker, int n, Path work, String drover, String strategy)
            throws Exception {
        int port = TestBroker.freePort();
        Path runs = work.resolve("runs-" + strategy);
        Process serve = new ProcessBuilder(drover, "serve", "--queue", broker.url(), "--queue-name", "bench",
                "--runs-dir", runs.toString(), "--observe-port", Integer.toString(port),
                "-D", "drover.events.destination=queue:bench.events")
                .redirectErrorStream(true).redirectOutput(work.resolve("serve.log").toFile()).start();
        try (JMSContext jms = broker.client()) {
            awaitReady(port, serve, work);
            JMSConsumer events = jms.createConsumer(jms.createQueue("bench.events"));
            long start = System.nanoTime();
            JMSProducer producer = jms.createProducer();
            for (int i = 0; i < n; i++) {
                producer.send(jms.createQueue("bench"), manifest(i, strategy));
            }
            Set<String> finished = new HashSet<>();
            long deadline = System.currentTimeMillis() + 600_000;
            while (finished.size() < n) {
                Message event = events.receive(1000);
                if (System.currentTimeMillis() > deadline || !serve.isAlive()) {
                    throw new IllegalStateException(finished.size() + " of " + n + " runs finished; see "
                            + work.resolve("serve.log"));
                }
                // only this serve's runs: the events queue is shared with the earlier measurement
                if (event != null && "run-finished".equals(event.getStringProperty("DroverEvent"))
                        && Files.isDirectory(runs.resolve(event.getStringProperty("DroverRunId")))) {
                    finished.add(event.getStringProperty("DroverRunId"));
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            List<String> failed = finished.stream().filter(id -> !Files.exists(runs.resolve(id)
                    .resolve("report.json"))).toList();
            if (!failed.isEmpty()) {
                throw new IllegalStateException("runs without a report: " + failed);
            }
            return seconds;
        } finally {
            serve.destroy();
            serve.waitFor(60, TimeUnit.SECONDS);
        }
    }

    private static void awaitReady(int port, Process serve, Path work) throws Exception {
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
        throw new IllegalStateException("drover serve did not get ready; see " + work.resolve("serve.log"));
    }
}

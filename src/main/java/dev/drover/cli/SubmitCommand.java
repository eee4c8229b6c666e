package dev.drover.cli;

import dev.drover.camel.DroverRuntime;
import dev.drover.manifest.Manifest;
import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestReader;
import dev.drover.plan.Planner;
import dev.drover.plan.RunOptions;
import dev.drover.plan.RunPlan;
import dev.drover.run.Settings;
import jakarta.jms.JMSContext;
import jakarta.jms.JMSRuntimeException;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;

/** `drover submit`: hand one manifest to a running `drover serve`, through its queue or its drop folder. */
@Command(name = "submit", mixinStandardHelpOptions = true,
        description = {"Check a manifest, then send it to the queue of a drover serve (--queue) or drop it into its"
                + " folder (--inbox). Nothing is sent when the manifest is invalid (exit 2, naming the field).",
                "Into a folder the manifest is written as a dot-file first and then given its name in one step, so"
                        + " serve never reads half a file; an existing file of that name is never replaced."})
final class SubmitCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "MANIFEST", description = "Task manifest, JSON or YAML.")
    Path manifest;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
        @Option(names = "--queue", paramLabel = "URL", description = "The Artemis broker, e.g. tcp://localhost:61616.")
        String queue;

        @Option(names = "--inbox", paramLabel = "DIR", description = "The drop folder of a drover serve.")
        Path inbox;
    }

    @Option(names = "--queue-name", paramLabel = "NAME",
            description = "The queue (default: drover.queue.manifests, drover.manifests).")
    String queueName;

    @Option(names = "--user", paramLabel = "USER",
            description = "Broker user (default: drover.queue.user or DROVER_QUEUE_USER; the password comes from"
                    + " drover.queue.password or DROVER_QUEUE_PASSWORD).")
    String user;

    @Override
    public Integer call() throws Exception {
        Manifest parsed = ManifestReader.read(manifest, PlanOptions.manifestMaxBytes());
        RunPlan plan = RunPlan.resolve(parsed, RunOptions.NONE);
        Planner.forInstalledLanes().checkAvailable(plan.strategy());
        if (target.inbox != null) {
            Path dropped = drop(manifest, parsed.text().string(), target.inbox);
            System.out.println("dropped " + parsed.name() + " into " + dropped);
            return 0;
        }
        Settings settings = Settings.load(DroverRuntime.home());
        String queue = queueName != null ? queueName : settings.text("drover.queue.manifests");
        String login = user != null ? user : settings.optional("drover.queue.user");
        String password = settings.optional("drover.queue.password");
        try (ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(target.queue);
             JMSContext jms = login != null ? factory.createContext(login, password) : factory.createContext()) {
            TextMessage message = jms.createTextMessage(parsed.text().string());
            jms.createProducer().send(jms.createQueue(queue), message);
            System.out.println("sent " + parsed.name() + " to queue " + queue + " at " + target.queue + " ("
                    + message.getJMSMessageID() + ")");
            return 0;
        } catch (JMSRuntimeException e) {
            System.err.println("drover: cannot send to " + target.queue + ": " + e.getMessage());
            return 1;
        }
    }

    /**
     * Writes the manifest as a dot-file (which serve ignores), forces it to disk, then links it under its final
     * name: a link, unlike a rename, fails rather than replace a file of that name, which then gets a -2, -3...
     * suffix.
     */
    static Path drop(Path manifest, String text, Path inbox) throws IOException {
        if (!Files.isDirectory(inbox)) {
            throw new ManifestException("--inbox", inbox + " is not a folder");
        }
        String fileName = manifest.getFileName().toString();
        int dot = fileName.lastIndexOf('.');
        String extension = dot > 0 ? fileName.substring(dot + 1).toLowerCase(java.util.Locale.ROOT) : "";
        if (!extension.matches("json|yaml|yml")) {
            extension = text.stripLeading().startsWith("{") ? "json" : "yaml";
        }
        String base = (dot > 0 ? fileName.substring(0, dot) : fileName).replaceFirst("^\\.+", "");
        if (base.isEmpty()) {
            base = "manifest";
        }
        Path temp = Files.createTempFile(inbox, ".drover-submit-", ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
                ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            for (int n = 1; ; n++) {
                Path target = inbox.resolve(base + (n == 1 ? "" : "-" + n) + "." + extension);
                try {
                    Files.createLink(target, temp);
                    return target;
                } catch (FileAlreadyExistsException taken) {
                    // try the next name
                }
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }
}

package dev.drover.serve;

import dev.drover.manifest.ManifestException;
import dev.drover.manifest.ManifestParser;
import org.apache.camel.Consumer;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.component.file.GenericFile;
import org.apache.camel.component.file.GenericFileFilter;
import org.apache.camel.support.DefaultPollingConsumerPollStrategy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * What the drop folder lets through to the intake-file route, so that nothing lying in it can hold up a valid
 * manifest. Before each poll ({@link #begin}) every entry with a manifest's name that cannot be one goes to
 * {@code .error} with its reason: a symbolic link (never followed, its target never named), a directory, a FIFO,
 * socket or device (reading a FIFO blocks), a file that has stayed empty, one larger than the manifest size limit, one
 * that cannot be read. The poll then takes only regular files left unchanged for the read-lock interval
 * ({@link #accept}): a file still being written is passed over without waiting, where Camel's changed read lock
 * spent its whole timeout in the single poll thread (and never took an empty file). The route reads a taken file
 * through {@link #read} (no link followed, no more than the limit) and reports a manifest it refuses through
 * {@link #rejected}.
 * <p>
 * Every refusal is one log line and two files in {@code .error} under a timestamped name, so that a second drop
 * with the same name keeps the first one's: {@code STAMP-NAME} and {@code STAMP-NAME.error.txt}, the reason no more
 * readable than the manifest it describes.
 */
public final class InboxEntries extends DefaultPollingConsumerPollStrategy implements GenericFileFilter<Object> {

    private static final Logger LOG = LoggerFactory.getLogger(InboxEntries.class);
    /** The names the route takes (its include option); names starting with '.' are never taken. */
    static final Pattern MANIFEST = Pattern.compile(".*\\.(json|yaml|yml)");
    static final String ERROR = ".error";
    static final String DONE = ".done";
    static final String FAILED = ".failed";
    /** The exchange property the route moves a manifest by, relative to the folder. */
    public static final String MOVE_TO = "DroverInboxMove";
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final Set<PosixFilePermission> PRIVATE = PosixFilePermissions.fromString("rw-------");

    private final Path dir;
    private final long quietMillis;
    private final long emptyMillis;
    private final long maxBytes;
    /** Names of other entries already reported as ignored: one log line each, not one per poll. */
    private final Set<String> ignored = ConcurrentHashMap.newKeySet();

    /**
     * @param quietMillis a file is taken once it has not changed for this long
     * @param emptyMillis an empty file is refused once it has stayed so for this long (a writer may still fill it)
     * @param maxBytes    the largest manifest read
     */
    public InboxEntries(Path dir, long quietMillis, long emptyMillis, long maxBytes) {
        this.dir = dir;
        this.quietMillis = quietMillis;
        this.emptyMillis = emptyMillis;
        this.maxBytes = maxBytes;
    }

    @Override
    public boolean begin(Consumer consumer, Endpoint endpoint) {
        for (String folder : List.of(DONE, FAILED, ERROR)) {
            try {
                ownFolder(folder);
            } catch (IOException e) {
                LOG.warn("inbox: cannot make {} a folder: {}", folder, e.toString());
            }
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    continue;
                }
                if (!MANIFEST.matcher(name).matches()) {
                    if (ignored.size() < 10_000 && ignored.add(name)) {
                        LOG.info("inbox: ignoring {}: only *.json, *.yaml and *.yml files are manifests", printable(name));
                    }
                    continue;
                }
                String reason = refusal(entry);
                if (reason != null) {
                    quarantine(entry, reason);
                }
            }
        } catch (IOException e) {
            LOG.warn("inbox: cannot list {}: {}", dir, e.toString());
        }
        return true;
    }

    /**
     * Makes sure a folder the inbox moves manifests into is a directory of drover's, not a link (whoever can drop
     * files could point it anywhere drover may write) or a file: an impostor is moved aside, itself, never followed,
     * as {@code FOLDER.refused-STAMP}, and the folder made. Checked before each poll and before each move.
     */
    private Path ownFolder(String folder) throws IOException {
        Path path = dir.resolve(folder);
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException absent) {
            return Files.createDirectories(path);
        }
        if (attributes.isDirectory()) {
            return path;
        }
        Path aside = dir.resolve(folder + ".refused-" + STAMP.format(Instant.now()));
        Files.move(path, aside, LinkOption.NOFOLLOW_LINKS);
        LOG.warn("inbox: {} was {}, not a folder: moved it aside as {}; drover moves manifests only into a folder of"
                + " its own", folder, attributes.isSymbolicLink() ? "a symbolic link" : "a file", aside.getFileName());
        return Files.createDirectory(path);
    }

    /** Where a manifest whose run has ended goes (route intake-file): FOLDER/NAME, FOLDER a folder of drover's. */
    public String moveTo(Exchange exchange, String folder) throws IOException {
        ownFolder(folder);
        return folder + "/" + exchange.getIn().getHeader(Exchange.FILE_NAME_ONLY, String.class);
    }

    /** Why an entry with a manifest's name cannot be one, or null if it may be (or may become) one. */
    private String refusal(Path entry) {
        PosixFileAttributes attributes;
        try {
            attributes = Files.readAttributes(entry, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return null; // gone meanwhile
        }
        if (attributes.isSymbolicLink()) {
            return "is a symbolic link, which the inbox does not follow: move or copy the manifest itself into it";
        }
        if (attributes.isDirectory()) {
            return "is a directory, not a manifest";
        }
        if (!attributes.isRegularFile()) {
            return "is not a regular file (a FIFO, socket or device): drop a manifest file";
        }
        if (attributes.size() > maxBytes) {
            return ManifestParser.sizeProblem(attributes.size(), maxBytes);
        }
        long age = System.currentTimeMillis() - attributes.lastModifiedTime().toMillis();
        if (attributes.size() == 0 && age >= emptyMillis) {
            return "is empty: write the manifest elsewhere, then move it into the folder";
        }
        // access(2), never an open in the poll thread: an entry swapped for a FIFO meanwhile would block it
        if (age >= quietMillis && !Files.isReadable(entry)) {
            return "cannot be read: give drover read access to it";
        }
        return null;
    }

    /**
     * Camel's poll takes only manifests' names, regular files, never through a link, not changed for the read-lock
     * interval.
     */
    @Override
    public boolean accept(GenericFile<Object> file) {
        if (!MANIFEST.matcher(file.getFileNameOnly()).matches()) {
            return false;
        }
        try {
            PosixFileAttributes attributes = Files.readAttributes(Path.of(file.getAbsoluteFilePath()),
                    PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            return attributes.isRegularFile() && attributes.size() > 0
                    && System.currentTimeMillis() - attributes.lastModifiedTime().toMillis() >= quietMillis;
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * The text of the manifest the route took: read without following a link (it may have been swapped for one since
     * the poll), at most the limit, strictly UTF-8.
     */
    public String read(Exchange exchange) {
        Path file = Path.of(exchange.getIn().getHeader(Exchange.FILE_PATH, String.class));
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            throw new ManifestException("manifest", "is not a regular file (it was replaced after the poll)");
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            InputStream in = Channels.newInputStream(channel);
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
            if (bytes.length > maxBytes) {
                throw new ManifestException("manifest", ManifestParser.sizeProblem(channel.size(), maxBytes));
            }
            return ManifestParser.decode(bytes);
        } catch (IOException e) {
            throw new ManifestException("manifest", "cannot be read ("
                    + e.getClass().getSimpleName() + ")");
        }
    }

    /** A manifest the route refused: its reason goes to .error, and it moves there after the exchange. */
    public void rejected(Exchange exchange) throws IOException {
        Exception e = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        Path file = Path.of(exchange.getIn().getHeader(Exchange.FILE_PATH, String.class));
        String stem = report(file, e == null ? "refused" : e.getMessage(), permissionsOf(file));
        exchange.setProperty(MOVE_TO, stem != null ? ERROR + "/" + stem : moveTo(exchange, FAILED));
    }

    /** Moves an entry the poll must not take to .error, beside its reason. */
    private void quarantine(Path entry, String reason) {
        String stem = report(entry, reason, permissionsOf(entry));
        if (stem == null) {
            return; // left in place; the filter never takes what is not a regular file
        }
        try {
            Files.move(entry, dir.resolve(ERROR).resolve(stem), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // left in place: the next poll tries again, and the filter never lets it through meanwhile
            LOG.warn("inbox: cannot move {} to {}: {}", printable(entry.getFileName().toString()), ERROR, e.toString());
        }
    }

    /**
     * Writes STAMP-NAME.error.txt (under a dot-name first, so that a reader never sees half a reason) with at most the
     * given permissions, logs the refusal, and returns STAMP-NAME: a name in .error that neither file has yet (null if
     * .error cannot be written).
     */
    private String report(Path entry, String reason, Set<PosixFilePermission> permissions) {
        String name = entry.getFileName().toString();
        LOG.warn("inbox: refused {}: {}", printable(name), printable(reason));
        Path errors = dir.resolve(ERROR);
        String stamp = STAMP.format(Instant.now());
        String stem = stamp + "-" + name;
        try {
            ownFolder(ERROR);
            for (int n = 2; Files.exists(errors.resolve(stem), LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(errors.resolve(stem + ".error.txt"), LinkOption.NOFOLLOW_LINKS); n++) {
                stem = stamp + "-" + n + "-" + name;
            }
            Path temp = errors.resolve("." + stem + ".error.txt.tmp");
            Files.deleteIfExists(temp);
            // the permissions apply from creation on, and the open channel may write whatever they are
            try (var out = Files.newByteChannel(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    PosixFilePermissions.asFileAttribute(permissions))) {
                out.write(ByteBuffer.wrap((name + ": " + reason + "\n").getBytes(StandardCharsets.UTF_8)));
            }
            Files.move(temp, errors.resolve(stem + ".error.txt"), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("inbox: cannot write the reason for {} in {}: {}", printable(name), errors, e.toString());
            return null;
        }
        return stem;
    }

    /**
     * The read and write bits of an entry (never a link's, which are all set), so that its reason is never more
     * readable than it; owner-only if they cannot be read.
     */
    private static Set<PosixFilePermission> permissionsOf(Path entry) {
        try {
            if (Files.isSymbolicLink(entry)) {
                return PRIVATE;
            }
            Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
            permissions.addAll(Files.getPosixFilePermissions(entry, LinkOption.NOFOLLOW_LINKS));
            permissions.removeAll(Set.of(PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.GROUP_EXECUTE,
                    PosixFilePermission.OTHERS_EXECUTE));
            return permissions;
        } catch (IOException e) {
            return PRIVATE;
        }
    }

    /** One line, no control characters: a file name or reason cannot forge log lines. */
    static String printable(String text) {
        return text.replaceAll("\\p{Cntrl}+", " ").strip();
    }
}

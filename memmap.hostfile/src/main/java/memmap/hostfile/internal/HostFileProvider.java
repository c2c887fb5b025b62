package memmap.hostfile.internal;

import java.util.concurrent.atomic.AtomicLong;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystems;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.ProviderUsage;
import memmap.posix.Posix;

/**
 * The backing provider of kind {@code hostfile}: opens real host files as
 * {@link FdMappable}s, one per (device, inode) so that all mappings of a file are
 * coherent.
 *
 * <p>With a root directory configured, every path is resolved inside it: relative paths
 * against it, absolute paths and symbolic links followed, and anything whose real path
 * leaves the root — through {@code ..}, an absolute path or a link — is refused with EACCES
 * before anything is opened.
 *
 * <p>Deactivation releases the provider: it opens nothing more, and every file it opened
 * stays mapped and working until its last reference is dropped.
 */
@Component(service = BackingProvider.class, property = BackingProvider.KIND + "=hostfile",
        configurationPid = HostFileProvider.PID, immediate = true)
@Designate(ocd = HostFileProvider.Config.class)
public final class HostFileProvider implements BackingProvider {
    /** The Config Admin PID of the provider's settings. */
    public static final String PID = "memmap.hostfile";

    /** The provider's settings. */
    @ObjectClassDefinition(name = "memmap host files", description = "How host files are opened and mapped.")
    public @interface Config {
        @AttributeDefinition(name = "Root directory",
                description = "If set, only files whose real path lies inside this directory can be opened.", required = false)
        String rootDirectory() default "";

        @AttributeDefinition(name = "No mmap",
                description = "Glob patterns (java.nio PathMatcher syntax) of real paths never memory-mapped: "
                        + "their mapped I/O goes through the buffered-I/O fallback.", required = false)
        String[] noMmap() default {};
    }

    private final Path root;
    private final List<PathMatcher> noMmap = new ArrayList<>();
    /** Instances made in this class loader, for {@link #id()}. */
    private static final AtomicLong INSTANCES = new AtomicLong();

    private final String id;
    private final FdMappableCache files = new FdMappableCache();
    private volatile boolean released;

    /**
     * @param config the settings
     * @param properties the component's properties (for its id)
     * @throws IllegalArgumentException naming the setting if the root directory does not exist
     */
    @Activate
    public HostFileProvider(Config config, Map<String, Object> properties) {
        String r = config.rootDirectory() == null ? "" : config.rootDirectory().trim();
        if (r.isEmpty()) {
            root = null;
        } else {
            try {
                root = Path.of(r).toRealPath();
            } catch (IOException e) {
                throw new IllegalArgumentException("rootDirectory = \"" + r + "\" cannot be resolved: " + e.getMessage(), e);
            }
        }
        for (String glob : config.noMmap()) {
            noMmap.add(FileSystems.getDefault().getPathMatcher("glob:" + glob));
        }
        // A reconfiguration makes a new instance with the same component.id: the counter tells them apart.
        this.id = "memmap.hostfile/" + properties.getOrDefault("component.id", "0") + "#" + INSTANCES.incrementAndGet();
    }

    @Deactivate
    void deactivate() {
        released = true;
    }

    @Override
    public BackingKind kind() {
        return BackingKind.HOST_FILE;
    }

    @Override
    public String id() {
        return id;
    }

    /** The configured root directory, or null. */
    Path root() {
        return root;
    }

    @Override
    public Backing create(Context ctx, BackingRequest request) throws MemmapException {
        if (!(request instanceof BackingRequest.HostFile hf)) {
            throw new IllegalArgumentException("request = " + request + " is not for a host file");
        }
        if (released) {
            throw new IllegalStateException("provider " + id + " has been released");
        }
        Path real = resolve(hf.path());
        int fd = openBest(real, hf.writable());
        try {
            Posix.Stat st = Posix.fstat(fd);
            int type = st.mode() & Posix.S_IFMT;
            if (type == Posix.S_IFDIR) {
                throw Errno.of(21, "path = " + hf.path() + " is a directory").toException();
            }
            boolean writable = isOpenForWriting(fd);
            if (hf.writable() && !writable) {
                throw Errno.EACCES.exception("path = " + hf.path() + " cannot be opened for writing: no shared writable mapping");
            }
            boolean regular = type == Posix.S_IFREG;
            boolean mappable = regular && !isProcfs(real) && noMmap.stream().noneMatch(m -> m.matches(real));
            FdMappable m = files.get(fd, st, real.toString(), writable, mappable, type != Posix.S_IFIFO);
            return new Backing(request, m, m, id);
        } catch (MemmapException | RuntimeException e) {
            closeQuietly(fd);
            throw e;
        }
    }

    /** Re-opens the same path: a host file's state is the file itself. */
    @Override
    public Backing adopt(Context ctx, Backing live) throws MemmapException {
        if (!(live.request() instanceof BackingRequest.HostFile)) {
            throw new IllegalArgumentException("live = " + live + " is not a host file");
        }
        return create(ctx, live.request());
    }

    @Override
    public ProviderUsage usage() {
        return new ProviderUsage(files.size(), 0, 0);
    }

    /**
     * The real path of {@code p}, confined to the root directory if one is set.
     *
     * @throws MemmapException ENOENT if it does not exist, EACCES if it escapes the root
     */
    Path resolve(Path p) throws MemmapException {
        Path candidate = root == null || p.isAbsolute() ? p.toAbsolutePath() : root.resolve(p);
        Path real;
        try {
            real = candidate.toRealPath();
        } catch (NoSuchFileException e) {
            throw Errno.ENOENT.exception("path = " + p + " does not exist");
        } catch (AccessDeniedException e) {
            throw Errno.EACCES.exception("path = " + p + ": " + e.getMessage());
        } catch (IOException e) {
            throw Errno.EIO.exception("path = " + p + ": " + e.getMessage());
        }
        if (root != null && !real.startsWith(root)) {
            throw Errno.EACCES.exception("path = " + p + " resolves to " + real + ", outside the root directory " + root);
        }
        return real;
    }

    /** Opens read-write where allowed (one descriptor can then serve every mapping), else read-only. */
    private static int openBest(Path real, boolean needWrite) throws MemmapException {
        int flags = Posix.O_CLOEXEC | Posix.O_NOFOLLOW;
        try {
            return Posix.open(real.toString(), Posix.O_RDWR | flags, 0);
        } catch (MemmapException e) {
            if (!e.errno().equals(Errno.EACCES) && !e.errno().equals(Errno.EPERM) && e.errno().code() != 30 /* EROFS */) {
                throw e;
            }
            if (needWrite) {
                throw Errno.EACCES.exception("path = " + real + " is read-only: no shared writable mapping");
            }
            return Posix.open(real.toString(), Posix.O_RDONLY | flags, 0);
        }
    }

    private static boolean isOpenForWriting(int fd) {
        try {
            String link = java.nio.file.Files.readString(Path.of("/proc/self/fdinfo/" + fd));
            for (String line : link.split("\n")) {
                if (line.startsWith("flags:")) {
                    int flags = Integer.parseInt(line.substring(6).trim(), 8);
                    return (flags & 3) != Posix.O_RDONLY;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // Fall through: assume read-only, the safe answer.
        }
        return false;
    }

    private static boolean isProcfs(Path real) {
        return real.startsWith("/proc") || real.startsWith("/sys");
    }


    private static void closeQuietly(int fd) {
        try {
            Posix.close(fd);
        } catch (MemmapException ignored) {
            // Nothing more to do for a descriptor that will not close.
        }
    }
}

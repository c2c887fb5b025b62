package memmap.hostfile.internal;

import java.util.concurrent.atomic.AtomicLong;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.Reference;
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
import memmap.posix.Beneath;
import memmap.posix.Posix;

/**
 * The backing provider of kind {@code hostfile}: opens real host files as
 * {@link FdMappable}s, one per (device, inode) so that all mappings of a file are
 * coherent.
 *
 * <p><b>What may be mapped</b> (as Linux's mmap allows): regular files, opened read-write where
 * the caller may (one descriptor then serves every mapping), else read-only — and a read-only
 * file maps privately, or shared without write ({@link Backing.MapAs#READ_ONLY}); only a
 * shared <em>writable</em> mapping of it is EACCES. {@code /dev/zero} maps as new anonymous
 * memory, shared or private ({@link Backing.MapAs#ANONYMOUS}). Refused, before any mapping
 * exists: directories (EISDIR when writing is asked for, else ENODEV), FIFOs, sockets, block
 * and other character devices, and procfs and sysfs files (ENODEV: Linux has no mmap for
 * them).
 *
 * <p><b>Confinement.</b> With a root directory configured, every path — relative to the root,
 * or absolute and inside it — is opened <em>beneath</em> the root's descriptor
 * ({@link Beneath}: {@code openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)}, else a
 * component-by-component {@code openat(O_NOFOLLOW)} walk), so that nothing outside the root can
 * be opened whatever is renamed or replaced by a link meanwhile. Symbolic links are followed
 * while they stay inside. A path that leaves the root is EACCES, and the message names the
 * path as the caller gave it, never what it resolved to outside.
 *
 * <p>Deactivation releases the provider: it opens nothing more, and every file it opened
 * stays mapped and working until its last reference is dropped.
 *
 * <p>Thread safety: {@link #create} may be called concurrently; it holds the read side of the
 * root descriptor's lock, deactivation the write side (so the descriptor is never closed, and
 * its number never reused, under an open).
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
                description = "If set, only files inside this directory can be opened (opened beneath it, whatever is renamed meanwhile).",
                required = false)
        String rootDirectory() default "";

        @AttributeDefinition(name = "No mmap",
                description = "Glob patterns (java.nio PathMatcher syntax) of real paths never memory-mapped: "
                        + "their mapped I/O goes through the buffered-I/O fallback.", required = false)
        String[] noMmap() default {};
    }

    /**
     * What confines opens: no root (everything), a root directory open with O_PATH, or a root
     * that could not be opened at activation ({@code refused}: every open is EACCES, never
     * unconfined). Replaced whole by {@link #modified}; its descriptor closed under the write
     * side of {@link #rootLock}.
     */
    private record Root(Path path, int fd, String refused) {
        static final Root NONE = new Root(null, -1, null);
    }

    private volatile Root root = Root.NONE;
    private volatile List<PathMatcher> noMmap = List.of();
    private volatile List<String> noMmapGlobs = List.of();
    private final ReentrantReadWriteLock rootLock = new ReentrantReadWriteLock();
    /** Tests: resolve with the openat walk even where openat2 works. */
    private final boolean walkOnly;
    /** Instances made in this class loader, for {@link #id()}. */
    private static final AtomicLong INSTANCES = new AtomicLong();
    static final memmap.posix.Logs LOGS = new memmap.posix.Logs();
    private static final memmap.posix.Log LOG = LOGS.get(PID);
    /** What the configuration given to the constructor had rejected, logged once activated. */
    private List<String> rejectedAtStart = List.of();

    private final String id;
    private final FdMappableCache files = new FdMappableCache();
    private volatile boolean released;

    /**
     * The DS constructor: the configuration checked property by property; a bad value is
     * rejected with one logged line naming the PID, the property and the value. A root
     * directory that cannot be opened refuses every open (EACCES) rather than confining
     * nothing.
     */
    @Activate
    public HostFileProvider(Map<String, Object> properties) {
        this.walkOnly = false;
        this.id = id(properties);
        List<String> rejected = apply(properties);
        rejectedAtStart = rejected;
        // A root asked for and rejected leaves no root at activation: refuse, never confine nothing.
        rejected.stream().filter(line -> line.startsWith(PID + ": rootDirectory = ")).findFirst()
                .ifPresent(line -> root = new Root(null, -1, line.substring(PID.length() + 2)));
    }

    /**
     * @param config the settings
     * @param properties the component's properties (for its id)
     * @throws IllegalArgumentException naming the setting if one is bad (the root directory does not exist, a glob)
     */
    public HostFileProvider(Config config, Map<String, Object> properties) {
        this(config, properties, false);
    }

    /** As {@link #HostFileProvider(Config, Map)}; {@code walkOnly} resolves without openat2 (tests). */
    HostFileProvider(Config config, Map<String, Object> properties, boolean walkOnly) {
        this.walkOnly = walkOnly;
        this.id = id(properties);
        List<String> rejected = apply(Map.of("rootDirectory", config.rootDirectory() == null ? "" : config.rootDirectory(),
                "noMmap", config.noMmap()));
        if (!rejected.isEmpty()) {
            closeQuietly(root.fd());
            throw new IllegalArgumentException(rejected.getFirst().substring(PID.length() + 2));
        }
    }

    private static String id(Map<String, Object> properties) {
        // A reconfiguration of another provider instance has the same component.id: the counter tells them apart.
        return "memmap.hostfile/" + properties.getOrDefault("component.id", "0") + "#" + INSTANCES.incrementAndGet();
    }

    /**
     * A new configuration, applied live: opens from now on are confined to the new root and
     * matched against the new globs; files already open stay as they are. A bad value is
     * rejected with one logged line and the value serving goes on serving.
     */
    @Modified
    void modified(Map<String, Object> properties) {
        report("reconfigured", apply(properties));
    }

    /** Activated (the log service, if any, is bound by now): the settings and any rejections logged. */
    @Activate
    void activated() {
        report("activated", rejectedAtStart);
        rejectedAtStart = List.of();
    }

    private void report(String what, List<String> rejected) {
        Root r = root;
        List<String> globs = noMmapGlobs;
        LOG.configured(id, what, rejected, () -> "rootDirectory=" + (r.path() == null ? "(none: every open refused)" : r.path())
                + " noMmap=" + globs);
    }

    /** The log service, bound to every log of this bundle ({@link #LOGS}). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.unuse(this, f);
    }


    /** {@link #modified}'s work; returns the rejections, one line each (not yet logged). */
    List<String> apply(Map<String, ?> properties) {
        memmap.posix.Settings in = new memmap.posix.Settings(PID, properties, BackingProvider.KIND);
        Root old = root;
        String r = in.stringValue("rootDirectory", "", old.path() == null ? "" : old.path().toString());
        Root next = old;
        if (r.isEmpty()) {
            next = Root.NONE;
        } else if (old.path() == null || !old.path().toString().equals(r)) {
            try {
                Path real = Path.of(r).toRealPath();
                next = new Root(real, Posix.open(real.toString(), Posix.O_PATH | Posix.O_DIRECTORY | Posix.O_CLOEXEC, 0), null);
            } catch (IOException | MemmapException | java.nio.file.InvalidPathException e) {
                in.reject("rootDirectory", r, "cannot be opened as a directory (" + e.getMessage() + ")",
                        old.path() == null ? "" : old.path().toString());
            }
        }
        List<String> globs = in.stringsValue("noMmap", List.of(), noMmapGlobs);
        List<PathMatcher> matchers = new ArrayList<>();
        for (String glob : globs) {
            try {
                matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + glob));
            } catch (IllegalArgumentException e) {
                in.reject("noMmap", glob, "not a glob (" + e.getMessage() + ")", noMmapGlobs);
                matchers = null;
                break;
            }
        }
        if (matchers != null) {
            noMmap = List.copyOf(matchers);
            noMmapGlobs = List.copyOf(globs);
        }
        if (next != old) {
            rootLock.writeLock().lock();
            try {
                root = next;
                closeQuietly(old.fd());
            } finally {
                rootLock.writeLock().unlock();
            }
        }
        return in.rejected();
    }

    @Deactivate
    void deactivate() {
        rootLock.writeLock().lock();
        try {
            if (!released) {
                closeQuietly(root.fd());
            }
            released = true;
        } finally {
            rootLock.writeLock().unlock();
        }
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
        return root.path();
    }

    @Override
    public Backing create(Context ctx, BackingRequest request) throws MemmapException {
        if (!(request instanceof BackingRequest.HostFile hf)) {
            throw new IllegalArgumentException("request = " + request + " is not for a host file");
        }
        rootLock.readLock().lock();
        try {
            if (released) {
                throw new IllegalStateException("provider " + id + " has been released");
            }
            if (root.refused() != null) {
                throw Errno.EACCES.exception("path = " + hf.path() + ": no file can be opened: " + root.refused());
            }
            int fd = openBest(hf);
            try {
                return backing(hf, fd);
            } catch (MemmapException | RuntimeException e) {
                closeQuietly(fd);
                throw e;
            }
        } finally {
            rootLock.readLock().unlock();
        }
    }

    /** The backing of the file open at {@code fd}, or the refusal Linux's mmap would give. */
    private Backing backing(BackingRequest.HostFile hf, int fd) throws MemmapException {
        Posix.Stat st = Posix.fstat(fd);
        String p = hf.path().toString();
        int type = st.mode() & Posix.S_IFMT;
        if (type == Posix.S_IFCHR && st.isDevZero()) {
            FdMappable m = files.get(fd, st, name(fd, p), false, false, false);
            return new Backing(hf, m, m, id, Backing.MapAs.ANONYMOUS);
        }
        if (type != Posix.S_IFREG) {
            throw Errno.ENODEV.exception("path = " + p + " is " + typeName(type) + ": only regular files and /dev/zero can be mapped");
        }
        long fsType = Posix.fstatfsType(fd);
        if (fsType == Posix.PROC_SUPER_MAGIC || fsType == Posix.SYSFS_MAGIC) {
            throw Errno.ENODEV.exception("path = " + p + " is a " + (fsType == Posix.PROC_SUPER_MAGIC ? "procfs" : "sysfs")
                    + " file: they cannot be mapped (read them instead)");
        }
        int flags = Posix.fcntl(fd, Posix.F_GETFL, 0);
        Posix.fcntl(fd, Posix.F_SETFL, flags & ~Posix.O_NONBLOCK);
        boolean writable = (flags & 3) != Posix.O_RDONLY;
        String name = name(fd, p);
        Path real = Path.of(name);
        boolean mappable = noMmap.stream().noneMatch(m -> m.matches(real));
        FdMappable m = files.get(fd, st, name, writable, mappable, true);
        return new Backing(hf, m, m, id, writable ? Backing.MapAs.READ_WRITE : Backing.MapAs.READ_ONLY);
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
     * Opens the file read-write where allowed, else read-only (EACCES if a shared writable
     * mapping was asked for). Non-blocking, so that a FIFO is refused rather than waited on.
     */
    private int openBest(BackingRequest.HostFile hf) throws MemmapException {
        String p = hf.path().toString();
        int flags = Posix.O_NONBLOCK | Posix.O_NOCTTY | Posix.O_CLOEXEC;
        try {
            return openAs(p, Posix.O_RDWR | flags);
        } catch (MemmapException e) {
            Errno err = e.errno();
            boolean readOnly = err.equals(Errno.EACCES) || err.equals(Errno.EPERM) || err.equals(Errno.EROFS)
                    || err.code() == 26 /* ETXTBSY */;
            if (!readOnly && !err.equals(Errno.EISDIR)) {
                throw refusal(p, e);
            }
            if (hf.writable()) {
                throw err.equals(Errno.EISDIR) ? Errno.EISDIR.exception("path = " + p + " is a directory")
                        : Errno.EACCES.exception("path = " + p + " cannot be opened for writing: no shared writable mapping");
            }
        }
        try {
            return openAs(p, Posix.O_RDONLY | flags);
        } catch (MemmapException e) {
            throw refusal(p, e);
        }
    }

    private int openAs(String p, int flags) throws MemmapException {
        Root r = root; // read under rootLock's read side: its descriptor stays open
        return r.path() == null ? Posix.open(p, flags, 0) : Beneath.open(r.fd(), r.path().toString(), p, flags, walkOnly);
    }

    /** What a failed open means to the caller, naming the path as given (never where it led). */
    private static MemmapException refusal(String p, MemmapException e) {
        Errno err = e.errno();
        if (err.equals(Errno.EXDEV)) {
            return Errno.EACCES.exception("path = " + p + " leaves the root directory");
        }
        if (err.equals(Errno.ENOENT)) {
            return Errno.ENOENT.exception("path = " + p + " does not exist");
        }
        if (err.code() == 6 /* ENXIO: a socket, or a device without its driver */) {
            return Errno.ENODEV.exception("path = " + p + " is a socket or a device without a driver: it cannot be mapped");
        }
        return err.exception("path = " + p + ": " + err.name());
    }

    /** The file's path as the kernel names it (as Linux's maps does), or {@code given}. */
    private static String name(int fd, String given) {
        try {
            String n = java.nio.file.Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
            return n.endsWith(" (deleted)") ? n.substring(0, n.length() - " (deleted)".length()) : n;
        } catch (IOException | UnsupportedOperationException e) {
            return given;
        }
    }

    private static String typeName(int type) {
        return switch (type) {
            case Posix.S_IFDIR -> "a directory";
            case Posix.S_IFIFO -> "a FIFO";
            case Posix.S_IFSOCK -> "a socket";
            case Posix.S_IFBLK -> "a block device";
            case Posix.S_IFCHR -> "a character device";
            default -> "not a regular file";
        };
    }

    private static void closeQuietly(int fd) {
        if (fd < 0) {
            return;
        }
        try {
            Posix.close(fd);
        } catch (MemmapException ignored) {
            // Nothing more to do for a descriptor that will not close.
        }
    }
}

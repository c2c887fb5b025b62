package memmap.shm.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.List;
import java.util.Map;

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
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Resizable;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.PosixSharedMemory;
import memmap.api.provider.SysVSharedMemory.Segment;
import memmap.api.provider.ProviderUsage;
import memmap.api.provider.SysVSharedMemory;

/**
 * Shared memory as services: the {@link BackingProvider} of kind {@code shm} (POSIX named
 * segments by request), {@link SysVSharedMemory} (a registry whose memory comes from the
 * {@link MemoryFile} service) and {@link PosixSharedMemory}.
 *
 * <p>Deactivation releases: the registry forgets its keys and drops its own references, so
 * each segment lives exactly as long as its attachments; POSIX segments stay mapped until
 * their last reference goes.
 */
@Component(service = {BackingProvider.class, SysVSharedMemory.class, PosixSharedMemory.class},
        property = BackingProvider.KIND + "=shm", configurationPid = ShmProvider.PID, immediate = true)
@Designate(ocd = ShmProvider.Config.class)
public final class ShmProvider implements BackingProvider, SysVSharedMemory, PosixSharedMemory {
    /** The Config Admin PID of the limits. */
    public static final String PID = "memmap.shm";

    /** Limits (Linux's defaults) and where POSIX segments live. */
    @ObjectClassDefinition(name = "memmap shared memory", description = "System V limits and the POSIX shared-memory directory.")
    public @interface Config {
        @AttributeDefinition(name = "SHMMIN", description = "Smallest segment, bytes.")
        long shmMin() default 1;

        @AttributeDefinition(name = "SHMMAX", description = "Largest segment, bytes (unsigned; -16777217 is Linux's 2^64 - 1 - 2^24).")
        long shmMax() default -1L - (1L << 24);

        @AttributeDefinition(name = "SHMALL", description = "Most pages in all segments (unsigned).")
        long shmAll() default -1L - (1L << 24);

        @AttributeDefinition(name = "SHMMNI", description = "Most segments.")
        long shmMni() default 4096;

        @AttributeDefinition(name = "POSIX directory", description = "Where named segments live (a tmpfs every process can open).")
        String posixDirectory() default "/dev/shm";

        @AttributeDefinition(name = "Device", description = "Device number shown in maps for System V segments (major << 20 | minor).")
        long deviceId() default 1;
    }

    private final ShmRegistry registry;
    private volatile PosixShm posix;
    /** Instances made in this class loader, for {@link #id()}. */
    private static final AtomicLong INSTANCES = new AtomicLong();
    static final memmap.posix.Logs LOGS = new memmap.posix.Logs();
    private static final memmap.posix.Log LOG = LOGS.get(PID);
    /** What the configuration given to the constructor had rejected, logged once activated. */
    private List<String> rejectedAtStart = List.of();
    private static final Config DEFAULTS = memmap.posix.Settings.defaults(Config.class);

    private final String id;
    private volatile boolean released;

    /**
     * The DS constructor: Linux's defaults, then the configuration checked property by
     * property (a bad value rejected with one logged line naming the PID, the property and
     * the value; the default serves in its place).
     */
    @Activate
    public ShmProvider(@Reference MemoryFile memoryFile, Map<String, Object> properties) {
        this(memoryFile, DEFAULTS, properties);
        rejectedAtStart = apply(properties);
    }

    /**
     * @throws IllegalArgumentException naming the setting if one is out of range (tests and plain-Java use)
     */
    public ShmProvider(MemoryFile memoryFile, Config config, Map<String, Object> properties) {
        // A reconfiguration makes a new instance with the same component.id: the counter tells them apart.
        this.id = "memmap.shm/" + properties.getOrDefault("component.id", "0") + "#" + INSTANCES.incrementAndGet();
        if (config.shmMni() <= 0) {
            throw new IllegalArgumentException("shmMni = " + config.shmMni() + " must be positive");
        }
        this.registry = new ShmRegistry(memoryFile, config.deviceId(),
                new ShmRegistry.Limits(config.shmMin(), config.shmMax(), config.shmAll(), config.shmMni()));
        this.posix = new PosixShm(config.posixDirectory(), id);
    }

    /**
     * Every setting applies live: limits to the next shmget, the device to segments made from
     * now on, the directory to names opened from now on (segments open stay where they are).
     * A bad value is rejected with one logged line and the value serving goes on serving.
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
        ShmRegistry.Limits l = registry.limits();
        LOG.configured(id, what, rejected, () -> "shmMin=" + Long.toUnsignedString(l.shmMin()) + " shmMax=" + Long.toUnsignedString(l.shmMax())
                + " shmAll=" + Long.toUnsignedString(l.shmAll()) + " shmMni=" + l.shmMni() + " deviceId=" + registry.deviceId()
                + " posixDirectory=" + posix.directory());
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
        ShmRegistry.Limits l = registry.limits();
        Config d = DEFAULTS;
        long min = in.longValue("shmMin", d.shmMin(), l.shmMin(), "must be at least 1", v -> v >= 1);
        long max = in.longValue("shmMax", d.shmMax(), l.shmMax(), "must be at least 1", v -> v != 0);
        long all = in.longValue("shmAll", d.shmAll(), l.shmAll(), "must be at least 1", v -> v != 0);
        long mni = in.longValue("shmMni", d.shmMni(), l.shmMni(), "must be positive", v -> v > 0);
        if (Long.compareUnsigned(min, max) > 0) {
            in.reject("shmMin", min, "larger than shmMax = " + Long.toUnsignedString(max), l.shmMin());
            min = l.shmMin();
        }
        registry.setLimits(new ShmRegistry.Limits(min, max, all, mni));
        long dev = in.longValue("deviceId", d.deviceId(), registry.deviceId(), "must be a device number (major << 20 | minor)", v -> v >= 0 && v < (1L << 32));
        registry.setDeviceId(dev);
        String dir = in.stringValue("posixDirectory", d.posixDirectory(), posix.directory());
        if (!dir.equals(posix.directory())) {
            if (java.nio.file.Files.isDirectory(java.nio.file.Path.of(dir))) {
                posix = new PosixShm(dir, id);
            } else {
                in.reject("posixDirectory", dir, "not a directory", posix.directory());
            }
        }
        return in.rejected();
    }

    @Deactivate
    void deactivate() {
        released = true;
        registry.release(Context.background());
    }

    private void requireLive() {
        if (released) {
            throw new IllegalStateException("provider " + id + " has been released");
        }
    }

    // ---------------------------------------------------------------- BackingProvider

    @Override
    public BackingKind kind() {
        return BackingKind.SHARED_MEMORY;
    }

    @Override
    public String id() {
        return id;
    }

    /** A POSIX named segment, created if missing and asked to, and grown to the requested size. */
    @Override
    public Backing create(Context ctx, BackingRequest request) throws MemmapException {
        if (!(request instanceof BackingRequest.SharedMemory shm)) {
            throw new IllegalArgumentException("request = " + request + " is not for shared memory");
        }
        requireLive();
        Backing b = posix.open(ctx, shm.name(), O_RDWR | (shm.create() ? O_CREAT : 0), 0600, request);
        Resizable r = (Resizable) b.mappable();
        if (shm.size() != 0 && r.size() < shm.size()) {
            try {
                r.setSize(ctx, shm.size());
            } catch (MemmapException | RuntimeException e) {
                b.identity().decRef(ctx);
                throw e;
            }
        }
        return b;
    }

    /** Named segments are handed over by name: the new provider opens the same file. */
    @Override
    public Backing adopt(Context ctx, Backing live) throws MemmapException {
        if (!(live.request() instanceof BackingRequest.SharedMemory)) {
            throw new IllegalArgumentException("live = " + live + " is not shared memory");
        }
        return create(ctx, live.request());
    }

    @Override
    public ProviderUsage usage() {
        SysVSharedMemory.ShmInfo info = registry.shmInfo();
        long bytes = info.shmTot() * memmap.api.Pages.PAGE_SIZE;
        return new ProviderUsage(registry.count() + posix.count(), bytes, bytes);
    }

    // ---------------------------------------------------------------- System V

    @Override
    public int get(Context ctx, int key, long size, int flags) throws MemmapException {
        requireLive();
        return registry.get(ctx, key, size, flags);
    }

    @Override
    public Attachment attach(Context ctx, int shmid, long addr, int flags) throws MemmapException {
        return registry.attach(ctx, shmid, addr, flags);
    }

    @Override
    public ShmStat stat(Context ctx, int shmid) throws MemmapException {
        return registry.stat(ctx, shmid);
    }

    @Override
    public void set(Context ctx, int shmid, int uid, int gid, int mode) throws MemmapException {
        registry.set(ctx, shmid, uid, gid, mode);
    }

    @Override
    public void remove(Context ctx, int shmid) throws MemmapException {
        registry.remove(ctx, shmid);
    }

    @Override
    public void lock(Context ctx, int shmid) throws MemmapException {
        registry.lock(ctx, shmid);
    }

    @Override
    public void unlock(Context ctx, int shmid) throws MemmapException {
        registry.unlock(ctx, shmid);
    }

    @Override
    public IpcInfo ipcInfo() {
        return registry.ipcInfo();
    }

    @Override
    public ShmInfo shmInfo() {
        return registry.shmInfo();
    }

    @Override
    public List<ShmStat> list() {
        return registry.list();
    }

    @Override
    public Segment adopt(Context ctx, Segment live) throws MemmapException {
        return registry.adopt(ctx, live);
    }

    @Override
    public Segment twin(Context ctx, Segment live) throws MemmapException {
        return registry.twin(ctx, live);
    }

    @Override
    public Segment restore(Context ctx, ShmStat stat, long effectiveSize) throws MemmapException {
        return registry.restore(ctx, stat, effectiveSize);
    }

    @Override
    public void forget(Context ctx, Segment adopted) {
        registry.forget(ctx, adopted);
    }

    // ---------------------------------------------------------------- POSIX

    @Override
    public Backing open(Context ctx, String name, int flags, int mode) throws MemmapException {
        requireLive();
        return posix.open(ctx, name, flags, mode);
    }

    @Override
    public void unlink(Context ctx, String name) throws MemmapException {
        posix.unlink(ctx, name);
    }
}

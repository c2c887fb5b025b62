package memmap.anon.internal;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import memmap.api.Context;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.Pages;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.ProviderUsage;

/**
 * The backing provider of kind {@code anonymous}: makes {@link SharedAnonymousMemory} from the
 * {@link MemoryFile} service.
 *
 * <p>Deactivation releases the provider: it makes no more backings, but every backing it
 * made keeps its pages until the last reference on it is dropped.
 */
@Component(service = BackingProvider.class, property = BackingProvider.KIND + "=anonymous",
        configurationPid = AnonymousProvider.PID, immediate = true)
@Designate(ocd = AnonymousProvider.Config.class)
public final class AnonymousProvider implements BackingProvider {
    /** The Config Admin PID of the provider's settings. */
    public static final String PID = "memmap.anon.provider";

    /** The provider's settings. */
    @ObjectClassDefinition(name = "memmap anonymous memory", description = "How shared anonymous memory is filled on first touch.")
    public @interface Config {
        @AttributeDefinition(name = "Fill ahead",
                description = "Bytes (a power of two, at least 4096) of the aligned window allocated around a first touch.")
        long fillAhead() default 64L << 10;

        @AttributeDefinition(name = "Populate", description = "Commit and map newly allocated pages at once instead of on first write.")
        boolean populate() default true;
    }

    /** Inode numbers of shared anonymous memory, unique in this JVM. */
    private static final AtomicLong INODES = new AtomicLong(0x10000);

    private final MemoryFile memoryFile;
    /** The settings serving now; replaced whole by {@link #modified}. */
    private volatile Serving settings;
    /** Instances made in this class loader, for {@link #id()}. */
    private static final AtomicLong INSTANCES = new AtomicLong();
    private static final memmap.posix.Log LOG = Logging.PROVIDER;
    /** What the configuration given to the constructor had rejected, logged once activated. */
    private List<String> rejectedAtStart = List.of();
    private static final Config DEFAULTS = memmap.posix.Settings.defaults(Config.class);

    private final String id;
    private final Set<SharedAnonymousMemory> live = ConcurrentHashMap.newKeySet();
    private volatile boolean released;

    /** What this provider does with new backings. */
    record Serving(long fillAhead, boolean populate) {}

    /**
     * The DS constructor: the configuration checked property by property. A bad value is
     * rejected with one logged line naming the PID, the property and the value, and the
     * default serves in its place: the provider comes up whatever the configuration says.
     *
     * @param memoryFile where pages come from
     * @param properties the component's properties, the configuration's among them
     */
    @Activate
    public AnonymousProvider(@Reference MemoryFile memoryFile, Map<String, Object> properties) {
        this(memoryFile, DEFAULTS, properties);
        rejectedAtStart = apply(properties);
    }

    /** Activated (the log service, if any, is bound by now): the settings and any rejections logged. */
    @Activate
    void activated() {
        report("activated", rejectedAtStart);
        rejectedAtStart = List.of();
    }

    /** The log service, bound to every log of this bundle ({@link Logging}). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        Logging.LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        Logging.LOGS.unuse(this, f);
    }

    private void report(String what, List<String> rejected) {
        Serving s = settings;
        LOG.configured(id, what, rejected, () -> "fillAhead=" + s.fillAhead() + " populate=" + s.populate());
    }

    /**
     * @param memoryFile where pages come from
     * @param config the settings (tests and plain-Java use)
     * @param properties the component's properties (for its id)
     * @throws IllegalArgumentException naming the setting if one is out of range
     */
    public AnonymousProvider(MemoryFile memoryFile, Config config, Map<String, Object> properties) {
        if (!goodFillAhead(config.fillAhead())) {
            throw new IllegalArgumentException("fillAhead = " + config.fillAhead() + " must be a power of two of at least 4096");
        }
        this.memoryFile = memoryFile;
        this.settings = new Serving(config.fillAhead(), config.populate());
        // A reconfiguration makes a new instance with the same component.id: the counter tells them apart.
        this.id = "memmap.anon/" + properties.getOrDefault("component.id", "0") + "#" + INSTANCES.incrementAndGet();
    }

    private static boolean goodFillAhead(long v) {
        return v >= Pages.PAGE_SIZE && Long.bitCount(v) == 1;
    }

    /**
     * A new configuration, applied live (no replacement: live mappings stay where they are,
     * new backings get the new settings). A bad value is rejected with one logged line and the
     * value serving now goes on serving; the rest of the configuration applies.
     *
     */
    @Modified
    void modified(Map<String, Object> properties) {
        report("reconfigured", apply(properties));
    }

    /** {@link #modified}'s work; returns the rejections, one line each (not yet logged). */
    List<String> apply(Map<String, Object> properties) {
        Serving now = settings;
        memmap.posix.Settings in = new memmap.posix.Settings(PID, properties, BackingProvider.KIND);
        Config d = DEFAULTS;
        long fill = in.longValue("fillAhead", d.fillAhead(), now.fillAhead(), "must be a power of two of at least 4096",
                AnonymousProvider::goodFillAhead);
        boolean populate = in.booleanValue("populate", d.populate(), now.populate());
        settings = new Serving(fill, populate);
        return in.rejected();
    }

    /** The settings serving now. */
    Serving settings() {
        return settings;
    }

    @Deactivate
    void deactivate() {
        released = true;
    }

    @Override
    public BackingKind kind() {
        return BackingKind.ANONYMOUS;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public Backing create(Context ctx, BackingRequest request) {
        if (!(request instanceof BackingRequest.Anonymous anon)) {
            throw new IllegalArgumentException("request = " + request + " is not for anonymous memory");
        }
        return make(ctx, anon, INODES.getAndIncrement());
    }

    private Backing make(Context ctx, BackingRequest.Anonymous anon, long inode) {
        if (released) {
            throw new IllegalStateException("provider " + id + " has been released");
        }
        // A live mapping keeps allocating from this memory file even after a reconfiguration
        // has replaced it; register as its user so it stays open until the mapping is gone.
        MemfdMemoryFile lease = memoryFile instanceof MemfdMemoryFile f ? f : null;
        if (lease != null) {
            lease.addUser();
        }
        SharedAnonymousMemory[] self = new SharedAnonymousMemory[1];
        SharedAnonymousMemory m = new SharedAnonymousMemory(memoryFile, anon.length(), inode, ctx.memCgId(),
                settings.fillAhead(), settings.populate(), () -> {
                    live.remove(self[0]);
                    if (lease != null) {
                        lease.removeUser();
                    }
                });
        self[0] = m;
        live.add(m);
        return new Backing(anon, m, m, id);
    }

    /**
     * Copies the pages of another provider's shared anonymous memory that exist into a new
     * backing of this one: an untouched page stays untouched (a sparse mapping costs what was
     * touched, not its length).
     */
    @Override
    public Backing adopt(Context ctx, Backing from) throws MemmapException {
        Backing to = twin(ctx, from);
        try {
            memmap.api.OwnedPages.copy(ctx, from.mappable(), to.mappable(), new MappableRange(0, ((BackingRequest.Anonymous) from.request()).length()));
            return to;
        } catch (MemmapException | RuntimeException e) {
            to.identity().decRef(ctx);
            throw e;
        }
    }

    /** A new, empty backing of this provider with {@code from}'s size and inode, for the caller to copy into. */
    @Override
    public Backing twin(Context ctx, Backing from) {
        if (!(from.request() instanceof BackingRequest.Anonymous anon)) {
            throw new IllegalArgumentException("from = " + from + " is not anonymous memory");
        }
        // The same inode: maps and smaps look the same after the swap. Later inodes of this
        // provider (perhaps a new class loader's counter) start above it, so none repeats.
        long inode = from.identity().inodeId();
        INODES.accumulateAndGet(inode + 1, Math::max);
        Backing to = make(ctx, anon, inode);
        if (from.mappable() instanceof memmap.api.OwnedPages o) {
            // Pages where from has them, in one allocation: the copy then allocates nothing.
            ((SharedAnonymousMemory) to.mappable()).reserve(o.populated(new MappableRange(0, anon.length())));
        }
        return to;
    }

    @Override
    public ProviderUsage usage() {
        long bytes = 0;
        for (SharedAnonymousMemory m : live) {
            bytes += m.allocatedBytes();
        }
        return new ProviderUsage(live.size(), bytes, memoryFile.usage().committed());
    }
}

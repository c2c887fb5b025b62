package memmap.mm.internal;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.provider.SysVSharedMemory;

/**
 * The {@link AddressSpaces} service: makes address spaces that find their backings here, at
 * each use. Every reference is dynamic and greedy, so a provider, memory file or strategy
 * replaced at run time (a new bundle version, a higher ranking, a reconfiguration) serves the
 * next request at once; what was made before keeps its own provider's memory.
 *
 * <p>DS sets each list anew on every change, sorted by ascending service ranking; the last
 * entry of a kind is the highest ranked. Providers are kept in their own order (ranking, then
 * newest last) because their arrivals and departures drive the hot swap.
 */
@Component(service = {AddressSpaces.class, memmap.api.checkpoint.Checkpoints.class}, immediate = true, configurationPid = AddressSpacesComponent.PID)
@Designate(ocd = AddressSpacesComponent.Config.class)
public final class AddressSpacesComponent implements AddressSpaces, memmap.api.checkpoint.Checkpoints {
    /** The Config Admin PID of the address spaces' settings. */
    public static final String PID = "memmap.mm";
    private static final memmap.posix.Log LOG = Logging.CONFIG;

    /** The settings. */
    @ObjectClassDefinition(name = "memmap address spaces", description = "How address spaces find their backings.")
    public @interface Config {
        @AttributeDefinition(name = "Provider wait",
                description = "Milliseconds a new mapping waits for the provider of its kind while that provider is being "
                        + "reconfigured or restarted (0: not at all). Without any provider of the kind configured: ENODEV at once.")
        long providerWaitMillis() default 5000;
    }

    private volatile long providerWaitMillis = 5000;
    /** When a provider of each kind last went away (System.nanoTime): a restart under way. */
    private final java.util.Map<BackingKind, Long> lastGone = new java.util.concurrent.ConcurrentHashMap<>();
    /** Bumped and notified on every provider arrival or departure. Guarded by itself. */
    private final long[] providerEvents = {0};

    /** The component runtime, to tell "being replaced" from "not configured at all". */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ServiceComponentRuntime scr;

    /** The DS constructor: the configuration checked (a bad value is one logged line once activated; the default serves). */
    @Activate
    public AddressSpacesComponent(Map<String, Object> properties) {
        rejectedAtStart = apply(properties);
    }

    /** What the configuration given to the constructor had rejected, logged once activated. */
    private List<String> rejectedAtStart;

    /** Activated (the log service, if any, is bound by now): the settings and any rejections logged. */
    @Activate
    void activated() {
        LOG.configured("address spaces", "activated", rejectedAtStart, () -> "providerWaitMillis=" + providerWaitMillis);
        rejectedAtStart = List.of();
    }

    /** Settings apply live. */
    @Modified
    void modified(Map<String, Object> properties) {
        LOG.configured("address spaces", "reconfigured", apply(properties), () -> "providerWaitMillis=" + providerWaitMillis);
    }

    private List<String> apply(Map<String, Object> properties) {
        memmap.posix.Settings in = new memmap.posix.Settings(PID, properties);
        providerWaitMillis = in.longValue("providerWaitMillis", 5000, providerWaitMillis, "must be 0 or more milliseconds", v -> v >= 0);
        return in.rejected();
    }

    /** The log service, bound to every log of this bundle ({@link Logging}). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        Logging.LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        Logging.LOGS.unuse(this, f);
    }
    private final ProviderSwap swap = new ProviderSwap();
    private final ServingOrder<BackingProvider> providers = new ServingOrder<>();
    private final ServingOrder<MemoryFile> memoryFiles = new ServingOrder<>();
    private final ServingOrder<SysVSharedMemory> sysvs = new ServingOrder<>();
    /** Logs each arrival and departure and which service serves each kind after it. */
    private final ServedLog served = new ServedLog(kind -> {
        BackingProvider p = Backings.servingOf(providers.all(), kind);
        return p == null ? null : p.id();
    }, () -> memoryFiles.serving(), () -> sysvs.serving());
    /** What the address spaces made here use: the serving services, read at each use. */
    private final Backings backings = Backings.swapping(swap, memoryFiles::serving, providers::all, sysvs::serving, () -> {
        List<BufferedIOFallbackStrategy> ss = this.strategies; // DS sets it; ascending ranking
        return ss == null || ss.isEmpty() ? null : ss.getLast();
    }, this::awaitProvider);
    /** Checkpoints of the address spaces made here. */
    private final CheckpointService checkpoints = new CheckpointService(backings, swap);

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile List<BufferedIOFallbackStrategy> strategies;

    /** A provider arrived: if it now serves its kind, live mappings of that kind move to it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.put(ref, p);
        served.changed("provider bound", p.kind(), p.id(), ref);
        providerEvent();
        migrateTo(p.kind());
    }

    /** A provider's ranking changed: the one serving its kind now takes the live mappings. */
    void updatedProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.put(ref, p);
        served.changed("provider updated", p.kind(), p.id(), ref);
        migrateTo(p.kind());
    }

    /**
     * A provider left: live mappings of its kind move to the next provider of the kind if there
     * is one, and otherwise stay on the departed provider's memory, which lives until unmapped.
     */
    void unbindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.remove(p);
        served.changed("provider unbound", p.kind(), p.id(), ref);
        lastGone.put(p.kind(), System.nanoTime());
        providerEvent();
        migrateTo(p.kind());
    }

    private void providerEvent() {
        synchronized (providerEvents) {
            providerEvents[0]++;
            providerEvents.notifyAll();
        }
    }

    /**
     * The wait of {@link Backings.ProviderWait}: until a provider of {@code kind} other than
     * {@code not} is bound, as long as one is coming, and at most {@code providerWaitMillis}.
     * One is coming while a component of the kind is enabled in an active bundle and not failed
     * (a reconfiguration), or a provider of the kind went away less than
     * {@code providerWaitMillis} ago (a restart or update of its bundle). The component runtime
     * is asked without any lock held (it may be binding a provider meanwhile).
     */
    private BackingProvider awaitProvider(BackingKind kind, BackingProvider not) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(providerWaitMillis);
        while (true) {
            long seen;
            synchronized (providerEvents) {
                seen = providerEvents[0];
            }
            BackingProvider p = Backings.servingOf(providers.all(), kind);
            if (p != null && p != not) {
                return p;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || !coming(kind)) {
                return null;
            }
            synchronized (providerEvents) {
                if (providerEvents[0] == seen) {
                    // Bounded slices: "coming" is asked again, in case the component went away.
                    providerEvents.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), 100)));
                }
            }
        }
    }

    /** Whether a provider of {@code kind} is coming: one just went away, or one is configured and not failed. */
    private boolean coming(BackingKind kind) {
        Long gone = lastGone.get(kind);
        if (gone != null && System.nanoTime() - gone < TimeUnit.MILLISECONDS.toNanos(providerWaitMillis)) {
            return true;
        }
        ServiceComponentRuntime s = scr;
        if (s == null) {
            return false;
        }
        for (ComponentDescriptionDTO d : s.getComponentDescriptionDTOs()) {
            if (!java.util.Arrays.asList(d.serviceInterfaces).contains(BackingProvider.class.getName())
                    || !kind.id().equals(String.valueOf(d.properties.get(BackingProvider.KIND))) || !s.isComponentEnabled(d)) {
                continue;
            }
            var configs = s.getComponentConfigurationDTOs(d);
            if (configs.isEmpty()) {
                return true; // between two configurations
            }
            for (ComponentConfigurationDTO c : configs) {
                if (c.state != ComponentConfigurationDTO.FAILED_ACTIVATION) {
                    return true;
                }
            }
        }
        return false;
    }

    private void migrateTo(BackingKind kind) {
        BackingProvider top = null;
        for (BackingProvider q : providers.all()) {
            if (q.kind() == kind) {
                top = q;
            }
        }
        if (top != null) {
            swap.migrate(Context.background(), top);
        }
    }

    /** A memory file arrived: if it now serves, private pages held in other memory files move into it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile mf) {
        memoryFiles.put(ref, mf);
        served.memoryFile("memory file bound", mf, ref);
        movePrivatePages();
    }

    /** A memory file left: private pages move to the one serving now, if any, else stay. */
    void unbindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile mf) {
        memoryFiles.remove(mf);
        served.memoryFile("memory file unbound", mf, ref);
        movePrivatePages();
    }

    private void movePrivatePages() {
        MemoryFile serving = memoryFiles.serving();
        if (serving != null) {
            swap.migratePrivatePages(Context.background(), serving);
        }
    }

    /** A System V registry arrived: if it now serves, attached segments are handed over to it. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void bindSysv(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory r) {
        sysvs.put(ref, r);
        served.sysv("System V registry bound", r, ref);
        handOverSegments();
    }

    /** A System V registry left: its attached segments go to the one serving now, if any, else stay. */
    void unbindSysv(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory r) {
        sysvs.remove(r);
        served.sysv("System V registry unbound", r, ref);
        handOverSegments();
    }

    private void handOverSegments() {
        SysVSharedMemory serving = sysvs.serving();
        if (serving != null) {
            swap.migrateSegments(Context.background(), serving);
        }
    }

    @Override
    public AddressSpace create(Context ctx) {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
    }

    @Override
    public Backing backing(Context ctx, BackingRequest request) throws MemmapException {
        return backings.backing(ctx, request);
    }

    @Override
    public List<AddressSpace> live() {
        return List.copyOf(swap.spacesInOrder());
    }

    @Override
    public java.util.Optional<String> serving(memmap.api.provider.BackingKind kind) {
        java.util.Objects.requireNonNull(kind, "kind = null");
        return java.util.Optional.ofNullable(backings.serving(kind)).map(BackingProvider::id);
    }

    // ---------------------------------------------------------------- Checkpoints (CheckpointService)

    @Override
    public memmap.api.checkpoint.CheckpointResult checkpoint(Context ctx, List<AddressSpace> spaces,
            java.nio.channels.WritableByteChannel out, memmap.api.checkpoint.CheckpointOpts opts) throws MemmapException {
        return checkpoints.checkpoint(ctx, spaces, out, opts);
    }

    @Override
    public memmap.api.checkpoint.Restored restore(Context ctx, List<java.nio.file.Path> chain, memmap.api.checkpoint.RestoreOpts opts)
            throws MemmapException {
        return checkpoints.restore(ctx, chain, opts);
    }

    @Override
    public memmap.api.checkpoint.Restored restore(Context ctx, java.nio.channels.ReadableByteChannel in,
            memmap.api.checkpoint.RestoreOpts opts) throws MemmapException {
        return checkpoints.restore(ctx, in, opts);
    }

    @Override
    public memmap.api.checkpoint.MigrationReport migrate(Context ctx, List<AddressSpace> spaces, java.nio.channels.ByteChannel channel,
            memmap.api.checkpoint.MigrateOpts opts) throws MemmapException {
        return checkpoints.migrate(ctx, spaces, channel, opts);
    }

    @Override
    public memmap.api.checkpoint.Restored receive(Context ctx, java.nio.channels.ByteChannel channel,
            memmap.api.checkpoint.RestoreOpts opts) throws MemmapException {
        return checkpoints.receive(ctx, channel, opts);
    }
}

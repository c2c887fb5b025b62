package memmap.health.internal;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import memmap.api.MemoryFile;
import memmap.api.MemoryUsage;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingKind;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.ProviderUsage;
import memmap.api.provider.SysVSharedMemory;
import memmap.posix.Settings;

/**
 * What the memmap health checks read: the providers, memory files and System V registries
 * registered now, and which provider the address spaces say serves each kind. One check per
 * kind ({@link AnonymousHealthCheck}, {@link HostFileHealthCheck},
 * {@link SharedMemoryHealthCheck}) asks {@link #check}.
 *
 * <p>A check is, for its kind:
 * <ul>
 * <li>CRITICAL when no provider serves it (new mappings of the kind fail with ENODEV), or
 *     memmap.mm's {@code AddressSpaces} is not registered;
 * <li>for anonymous memory, each memory file's allocated bytes against its
 *     {@link MemoryFile#limit() memoryLimit}: WARN from {@code warnPercent}, CRITICAL at the limit
 *     (allocations fail with ENOMEM); CRITICAL without a memory file;
 * <li>for shared memory, the System V pages against SHMALL and the segments against SHMMNI, the
 *     same way;
 * <li>host files have no limit of their own: served is healthy.
 * </ul>
 * Every check also lists each provider of its kind (bundle, version, ranking, usage).
 *
 * <p>Thread safety: the services are held in concurrent maps DS updates from its threads; a
 * check reads a snapshot. Nothing here is called with a lock held.
 */
@Component(service = BackingHealth.class, configurationPid = BackingHealth.PID)
@Designate(ocd = BackingHealth.Config.class)
public final class BackingHealth {
    /** The Config Admin PID. */
    public static final String PID = "memmap.health";
    static final memmap.posix.Logs LOGS = new memmap.posix.Logs();
    private static final memmap.posix.Log LOG = LOGS.get(PID);

    @ObjectClassDefinition(name = "memmap health checks", description = "When a backing kind's usage is reported as a warning.")
    public @interface Config {
        @AttributeDefinition(name = "Warn at percent", description = "Usage of a limit (memoryLimit, SHMALL, SHMMNI) reported as WARN from this percent on, 1 to 100. At 100 percent it is CRITICAL.")
        long warnPercent() default 90;
    }

    private final Map<ServiceReference<BackingProvider>, BackingProvider> providers = new ConcurrentHashMap<>();
    private final Map<ServiceReference<MemoryFile>, MemoryFile> memoryFiles = new ConcurrentHashMap<>();
    private final Map<ServiceReference<SysVSharedMemory>, SysVSharedMemory> sysvs = new ConcurrentHashMap<>();
    private volatile AddressSpaces addressSpaces;
    private volatile long warnPercent = 90;
    private final List<String> rejectedAtStart;

    @Activate
    public BackingHealth(Map<String, Object> properties) {
        rejectedAtStart = apply(properties);
    }

    /** Logged once DS has bound the log (it binds dynamic references after the constructor). */
    @Activate
    void activated() {
        LOG.configured("health checks", "activated", rejectedAtStart, () -> "warnPercent=" + warnPercent);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        LOG.configured("health checks", "reconfigured", apply(properties), () -> "warnPercent=" + warnPercent);
    }

    private List<String> apply(Map<String, Object> properties) {
        Settings in = new Settings(PID, properties);
        warnPercent = in.longValue("warnPercent", 90, warnPercent, "must be 1 to 100", v -> v >= 1 && v <= 100);
        return in.rejected();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.use(this, f);
    }

    void unbindLoggerFactory(org.osgi.service.log.LoggerFactory f) {
        LOGS.unuse(this, f);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindAddressSpaces(AddressSpaces s) {
        addressSpaces = s;
    }

    void unbindAddressSpaces(AddressSpaces s) {
        if (addressSpaces == s) {
            addressSpaces = null;
        }
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.put(ref, p);
    }

    void unbindProvider(ServiceReference<BackingProvider> ref, BackingProvider p) {
        providers.remove(ref);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile f) {
        memoryFiles.put(ref, f);
    }

    void unbindMemoryFile(ServiceReference<MemoryFile> ref, MemoryFile f) {
        memoryFiles.remove(ref);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindSysV(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory s) {
        sysvs.put(ref, s);
    }

    void unbindSysV(ServiceReference<SysVSharedMemory> ref, SysVSharedMemory s) {
        sysvs.remove(ref);
    }

    /** The health of {@code kind} now. */
    Result check(BackingKind kind) {
        AddressSpaces as = addressSpaces;
        List<Provider> ps = new ArrayList<>();
        providers.forEach((ref, p) -> {
            if (p.kind() == kind) {
                ps.add(new Provider(p.id(), ref.getBundle() == null ? "?" : ref.getBundle().getSymbolicName(),
                        ref.getBundle() == null ? "?" : ref.getBundle().getVersion().toString(), ranking(ref), p.usage()));
            }
        });
        List<Limited> limits = new ArrayList<>();
        if (kind == BackingKind.ANONYMOUS) {
            memoryFiles.forEach((ref, f) -> limits.add(Limited.of(f)));
        } else if (kind == BackingKind.SHARED_MEMORY) {
            sysvs.forEach((ref, s) -> limits.addAll(Limited.of(ref.getBundle() == null ? "?" : ref.getBundle().getSymbolicName(), s)));
        }
        return new Result(report(kind, as == null ? null : as.serving(kind), ps, limits, kind == BackingKind.ANONYMOUS, warnPercent));
    }

    private static int ranking(ServiceReference<?> ref) {
        return ref.getProperty(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0;
    }

    /** A provider of the kind as the check reports it. */
    record Provider(String id, String bundle, String version, int ranking, ProviderUsage usage) {
    }

    /**
     * One limited resource: {@code used} of {@code limit} (both unsigned; limit -1: none).
     *
     * @param what what it is, e.g. "memory file memmap: allocated bytes"
     */
    record Limited(String what, long used, long limit) {
        static Limited of(MemoryFile f) {
            MemoryUsage u = f.usage();
            return new Limited("memory file " + f + ": allocated bytes (memoryLimit)", u.allocated(), f.limit());
        }

        /** {@code s}'s pages against SHMALL and its segments against SHMMNI; {@code name}: its bundle. */
        static List<Limited> of(String name, SysVSharedMemory s) {
            SysVSharedMemory.IpcInfo limits = s.ipcInfo();
            return List.of(new Limited("System V registry of " + name + ": pages in all segments (SHMALL)", s.shmInfo().shmTot(), limits.shmAll()),
                    new Limited("System V registry of " + name + ": segments (SHMMNI)", s.list().size(), limits.shmMni()));
        }
    }

    /**
     * The check's log: the worst entry is the result's status.
     *
     * @param serving the provider serving the kind, or null when there are no address spaces to ask
     * @param needsLimited whether the kind cannot work without one of {@code limits} (anonymous: a memory file)
     */
    static FormattingResultLog report(BackingKind kind, Optional<String> serving, List<Provider> providers, List<Limited> limits,
            boolean needsLimited, long warnPercent) {
        FormattingResultLog log = new FormattingResultLog();
        if (serving == null) {
            log.critical("memmap.mm's AddressSpaces service is not registered: no address space can be made");
        } else if (serving.isEmpty()) {
            log.critical("no provider serves {}: new mappings of it fail with ENODEV", kind.id());
        } else {
            log.info("{} is served by {}", kind.id(), serving.get());
        }
        for (Provider p : providers) {
            log.info("provider {} ({} {}, ranking {}): {} backings, {} allocated, {} committed", p.id(), p.bundle(), p.version(),
                    p.ranking(), p.usage().liveBackings(), bytes(p.usage().allocatedBytes()), bytes(p.usage().committedBytes()));
        }
        if (needsLimited && limits.isEmpty()) {
            log.critical("no memory file is registered: anonymous and private pages cannot be allocated");
        }
        for (Limited l : limits) {
            if (l.limit() == -1L) {
                log.info("{}: {} (no limit)", l.what(), l.used());
                continue;
            }
            BigInteger used = new BigInteger(Long.toUnsignedString(l.used()));
            BigInteger limit = new BigInteger(Long.toUnsignedString(l.limit()));
            // percent rounded down, so WARN starts at warnPercent exactly
            long percent = limit.signum() == 0 ? 100 : used.multiply(BigInteger.valueOf(100)).divide(limit).min(BigInteger.valueOf(1000)).longValue();
            if (Long.compareUnsigned(l.used(), l.limit()) >= 0) {
                log.critical("{}: {} of {} ({}%): at the limit, allocations fail with ENOMEM", l.what(), Long.toUnsignedString(l.used()),
                        Long.toUnsignedString(l.limit()), percent);
            } else if (percent >= warnPercent) {
                log.warn("{}: {} of {} ({}%): at least {}% of the limit", l.what(), Long.toUnsignedString(l.used()),
                        Long.toUnsignedString(l.limit()), percent, warnPercent);
            } else {
                log.info("{}: {} of {} ({}%)", l.what(), Long.toUnsignedString(l.used()), Long.toUnsignedString(l.limit()), percent);
            }
        }
        return log;
    }

    private static String bytes(long n) {
        return Long.toUnsignedString(n) + " bytes";
    }
}

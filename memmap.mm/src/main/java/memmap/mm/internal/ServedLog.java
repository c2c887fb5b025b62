package memmap.mm.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;

import memmap.api.MemoryFile;
import memmap.api.provider.BackingKind;
import memmap.api.provider.SysVSharedMemory;

/**
 * The provider log ({@link Logging#PROVIDERS}): one INFO entry per service arriving, changing or
 * leaving, naming it (id, kind, bundle, ranking) and what serves its kind afterwards, with what
 * served before when that changed:
 * {@code provider bound: memmap.anon/3#2 (anonymous, memmap.anon 1.0.0, ranking 10); anonymous now served by memmap.anon/3#2 (was memmap.anon/1#1)}.
 *
 * <p>Called from DS's bind methods (which DS serialises per reference); thread-safe.
 */
final class ServedLog {
    private final Function<BackingKind, String> servingProvider;
    private final Supplier<MemoryFile> servingMemoryFile;
    private final Supplier<SysVSharedMemory> servingSysv;
    /** What served each kind at the last entry ("memory file" and "System V" are kinds here too). */
    private final Map<String, String> last = new ConcurrentHashMap<>();

    ServedLog(Function<BackingKind, String> servingProvider, Supplier<MemoryFile> servingMemoryFile, Supplier<SysVSharedMemory> servingSysv) {
        this.servingProvider = servingProvider;
        this.servingMemoryFile = servingMemoryFile;
        this.servingSysv = servingSysv;
    }

    void changed(String what, BackingKind kind, String id, ServiceReference<?> ref) {
        entry(what, kind.id(), id, ref, servingProvider.apply(kind));
    }

    void memoryFile(String what, MemoryFile mf, ServiceReference<?> ref) {
        MemoryFile s = servingMemoryFile.get();
        entry(what, "memory file", name(mf), ref, s == null ? null : name(s));
    }

    void sysv(String what, SysVSharedMemory r, ServiceReference<?> ref) {
        SysVSharedMemory s = servingSysv.get();
        entry(what, "System V shared memory", name(r), ref, s == null ? null : name(s));
    }

    private void entry(String what, String kind, String id, ServiceReference<?> ref, String serving) {
        String now = serving == null ? "none" : serving;
        String before = last.put(kind, now);
        String change = before == null || before.equals(now) ? kind + " served by " + now
                : kind + " now served by " + now + " (was " + before + ")";
        Logging.PROVIDERS.info(() -> what + ": " + id + " (" + kind + ", " + origin(ref) + "); " + change);
    }

    private static String name(Object service) {
        return service instanceof memmap.api.provider.BackingProvider p ? p.id() : String.valueOf(service);
    }

    /** The bundle and ranking of a service. */
    static String origin(ServiceReference<?> ref) {
        Bundle b = ref.getBundle();
        Object ranking = ref.getProperty(Constants.SERVICE_RANKING);
        return (b == null ? "unregistered" : b.getSymbolicName() + " " + b.getVersion()) + ", ranking " + (ranking == null ? 0 : ranking);
    }
}

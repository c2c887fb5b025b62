package memmap.posix;

import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The logs of one bundle (one instance per bundle, held in a static field of its own): every
 * {@link Log} made here follows the sink the bundle's components bind.
 *
 * <p>In OSGi each DS component of the bundle injects the {@code LoggerFactory} (a dynamic,
 * optional, greedy reference) and passes it to {@link #use(Object, Object)}; the Log Service
 * attributes the entries to the bundle that obtained the factory. The last factory bound
 * serves; {@link #unuse} of the one serving goes back to {@code System.Logger}. Without OSGi
 * nothing is bound and every log writes to {@code System.Logger}.
 *
 * <p>Thread-safe.
 */
public final class Logs {
    private final Map<String, Log> logs = new ConcurrentHashMap<>();
    /** The factory serving (null: System.Logger) and how it makes a sink for a name. Guarded by this. */
    private Object factory;
    private Function<String, Log.Sink> sinks;

    /** The log {@code name}, made on first use. */
    public Log get(String name) {
        Objects.requireNonNull(name, "name = null");
        return logs.computeIfAbsent(name, n -> {
            Log l = new Log(n);
            synchronized (this) {
                if (sinks != null) {
                    l.use(sinks.apply(n));
                }
            }
            return l;
        });
    }

    /**
     * Every log of the bundle writes to the OSGi Log Service through {@code loggerFactory}
     * (an {@code org.osgi.service.log.LoggerFactory}; typed Object so that this class loads
     * without the Log Service API on a plain module path).
     *
     * @param owner who binds it (for {@link #unuse})
     * @throws IllegalArgumentException {@code loggerFactory} is not a LoggerFactory
     */
    public synchronized void use(Object owner, Object loggerFactory) {
        Objects.requireNonNull(owner, "owner = null");
        Function<String, Log.Sink> s = LogServiceSink.sinks(loggerFactory);
        factory = loggerFactory;
        sinks = s;
        logs.values().forEach(l -> l.use(s.apply(l.name())));
    }

    /** {@code loggerFactory} went away: if it serves, every log goes back to System.Logger. */
    public synchronized void unuse(Object owner, Object loggerFactory) {
        if (factory != loggerFactory) {
            return;
        }
        factory = null;
        sinks = null;
        logs.values().forEach(l -> l.use(null));
    }
}

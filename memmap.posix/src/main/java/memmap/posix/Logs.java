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
 * attributes the entries to the bundle that obtained the factory. The factory bound last by a
 * component still holding one serves: one component going away leaves the others' logs on the
 * Log Service; when none holds one, every log goes back to {@code System.Logger}. Without OSGi
 * nothing is bound and every log writes to {@code System.Logger}.
 *
 * <p>Thread-safe.
 */
public final class Logs {
    private final Map<String, Log> logs = new ConcurrentHashMap<>();
    /** Each component's factory, in binding order; the last serves. Guarded by this. */
    private final Map<Object, Object> owners = new java.util.LinkedHashMap<>();
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
     * {@code owner} (a component) binds {@code loggerFactory} (an
     * {@code org.osgi.service.log.LoggerFactory}; typed Object so that this class loads without
     * the Log Service API on a plain module path): every log of the bundle writes to it.
     *
     * @throws IllegalArgumentException {@code loggerFactory} is not a LoggerFactory (nothing changes)
     */
    public synchronized void use(Object owner, Object loggerFactory) {
        Objects.requireNonNull(owner, "owner = null");
        LogServiceSink.sinks(loggerFactory); // refuses a wrong argument before anything changes
        owners.remove(owner);
        owners.put(owner, loggerFactory);
        serve();
    }

    /**
     * {@code owner} unbinds {@code loggerFactory}: the factory another component of the bundle
     * still holds serves, else System.Logger again.
     */
    public synchronized void unuse(Object owner, Object loggerFactory) {
        owners.remove(owner, loggerFactory);
        serve();
    }

    private void serve() {
        Object f = null;
        for (Object v : owners.values()) {
            f = v; // the last bound
        }
        if (f == factory) {
            return;
        }
        Function<String, Log.Sink> s = f == null ? null : LogServiceSink.sinks(f);
        factory = f;
        sinks = s;
        logs.values().forEach(l -> l.use(s == null ? null : s.apply(l.name())));
    }
}

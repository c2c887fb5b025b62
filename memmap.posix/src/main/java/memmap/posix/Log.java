package memmap.posix;

import java.lang.System.Logger.Level;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * A named log of one bundle: entries go to the OSGi Log Service when the bundle's components
 * have one injected ({@link Logs#use}), and to {@link System.Logger} otherwise (a plain module
 * path, or a framework without a log service).
 *
 * <p>Messages are built only when their level is enabled. Thread-safe; the sink is read once per
 * entry, so an entry goes wholly to one sink while the log service comes or goes.
 */
public final class Log {
    /** Where entries go. Implementations are thread-safe. */
    public interface Sink {
        /** Whether entries at {@code level} are kept. */
        boolean enabled(Level level);

        /** Keeps one entry; {@code thrown} may be null. */
        void log(Level level, String message, Throwable thrown);
    }

    private final String name;
    private final Sink fallback;
    private volatile Sink sink;

    Log(String name) {
        this.name = Objects.requireNonNull(name, "name = null");
        System.Logger jul = System.getLogger(name);
        this.fallback = new Sink() {
            @Override
            public boolean enabled(Level level) {
                return jul.isLoggable(level);
            }

            @Override
            public void log(Level level, String message, Throwable thrown) {
                jul.log(level, message, thrown);
            }
        };
        this.sink = fallback;
    }

    /** The logger name (a dotted name under the bundle's, such as {@code memmap.mm.swap}). */
    public String name() {
        return name;
    }

    void use(Sink s) {
        sink = s == null ? fallback : s;
    }

    /** Whether entries at {@code level} are kept now. */
    public boolean enabled(Level level) {
        return sink.enabled(level);
    }

    /** One entry at {@code level}, the message built only if the level is enabled. */
    public void log(Level level, Supplier<String> message, Throwable thrown) {
        Sink s = sink;
        if (s.enabled(level)) {
            s.log(level, message.get(), thrown);
        }
    }

    public void error(String message) {
        log(Level.ERROR, () -> message, null);
    }

    public void error(String message, Throwable thrown) {
        log(Level.ERROR, () -> message, thrown);
    }

    public void warn(String message) {
        log(Level.WARNING, () -> message, null);
    }

    public void warn(String message, Throwable thrown) {
        log(Level.WARNING, () -> message, thrown);
    }

    public void info(String message) {
        log(Level.INFO, () -> message, null);
    }

    public void info(Supplier<String> message) {
        log(Level.INFO, message, null);
    }

    public void debug(Supplier<String> message) {
        log(Level.DEBUG, message, null);
    }

    /**
     * A component's configuration applied: one ERROR entry per rejected value, then one INFO
     * entry {@code "WHO WHAT: SETTINGS"} ({@code what} is {@code activated} or {@code reconfigured}).
     */
    public void configured(String who, String what, java.util.List<String> rejected, Supplier<String> settings) {
        rejected.forEach(this::error);
        info(() -> who + " " + what + ": " + settings.get());
    }

    @Override
    public String toString() {
        return "Log[" + name + "]";
    }
}

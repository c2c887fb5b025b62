package memmap.shell.internal;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The runtime's log on the console: every Log Service entry at or above {@code level} is one
 * line on the process's standard error,
 * {@code 2026-12-02T19:40:01.123Z INFO  memmap.mm.swap [memmap.mm] swapped anonymous from … to …},
 * with the exception's stack trace under it. Framework events (the Log Service's
 * {@code Events.*} loggers: every bundle and service event) only with {@code events=true}.
 *
 * <p>Without a configuration the level is the framework or system property
 * {@code memmap.log.console.level} ({@code -Dmemmap.log.console.level=OFF}), else INFO.
 *
 * <p>What the Log Service records at all is its own setting (the framework property
 * {@code org.osgi.service.log.admin.loglevel}, INFO in the runtime, or the
 * {@code org.osgi.service.log.admin} configuration); this filters what is recorded.
 *
 * <p>On binding a log reader the entries it still holds are printed first (what was logged
 * while the runtime started), oldest first, then new ones as they come; an entry is printed
 * once (by its sequence number). Thread-safe: entries are printed under one lock.
 */
@Component(immediate = true, configurationPid = ConsoleLog.PID, service = {})
@Designate(ocd = ConsoleLog.Config.class)
public final class ConsoleLog {
    /** The Config Admin PID. */
    public static final String PID = "memmap.log.console";

    @ObjectClassDefinition(name = "memmap console log", description = "Which log entries the runtime prints on the console.")
    public @interface Config {
        @AttributeDefinition(name = "Level", description = "The least severe level printed: ERROR, WARN, INFO, DEBUG, TRACE, or OFF. "
                + "Without a configuration: the property memmap.log.console.level, else INFO.")
        String level() default "INFO";

        @AttributeDefinition(name = "Framework events", description = "Also print the framework's bundle and service events (Events.* loggers).")
        boolean events() default false;
    }

    private final PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);
    private final List<LogReaderService> readers = new ArrayList<>();
    private final LogListener listener = this::print;
    /** Guarded by this. Null: OFF. */
    private LogLevel level = LogLevel.INFO;
    private boolean events;
    private long printedUpTo = -1;

    /** The framework (or system) property giving the level when the configuration does not. */
    public static final String LEVEL_PROPERTY = "memmap.log.console.level";
    /** The level without a configuration: {@link #LEVEL_PROPERTY}, else INFO. */
    private final String defaultLevel;

    @Activate
    public ConsoleLog(org.osgi.framework.BundleContext context, Map<String, Object> properties) {
        String p = context.getProperty(LEVEL_PROPERTY);
        defaultLevel = p == null || p.isBlank() ? "INFO" : p.strip();
        configure(properties);
    }

    @Modified
    void modified(Map<String, Object> properties) {
        configure(properties);
    }

    private synchronized void configure(Map<String, Object> properties) {
        memmap.posix.Settings in = new memmap.posix.Settings(PID, properties);
        String l = in.stringValue("level", defaultLevel, level == null ? "OFF" : level.name()).toUpperCase(Locale.ROOT);
        LogLevel next = level;
        if (l.equals("OFF")) {
            next = null;
        } else {
            try {
                next = LogLevel.valueOf(l.equals("WARNING") ? "WARN" : l);
            } catch (IllegalArgumentException e) {
                in.reject("level", l, "not one of ERROR, WARN, INFO, DEBUG, TRACE, OFF", level == null ? "OFF" : level.name());
            }
        }
        level = next;
        events = in.booleanValue("events", false, events);
        for (String line : in.rejected()) {
            out.println(Instant.now() + " ERROR " + PID + " " + line);
        }
    }

    /** A log reader: its held entries printed (oldest first), then every new one. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    synchronized void bindLogReader(LogReaderService reader) {
        readers.add(reader);
        reader.addLogListener(listener); // deliveries wait for this lock: none is printed before the history
        List<LogEntry> held = Collections.list(reader.getLog()); // newest first
        for (LogEntry e : held.reversed()) {
            print(e);
        }
    }

    synchronized void unbindLogReader(LogReaderService reader) {
        readers.remove(reader);
        try {
            reader.removeLogListener(listener);
        } catch (RuntimeException ignored) {
            // The reader's bundle is stopping: its listeners go with it.
        }
    }

    @Deactivate
    synchronized void deactivate() {
        for (LogReaderService r : List.copyOf(readers)) {
            unbindLogReader(r);
        }
    }

    private synchronized void print(LogEntry e) {
        if (e.getSequence() <= printedUpTo) {
            return;
        }
        printedUpTo = e.getSequence();
        LogLevel l = level;
        if (l == null || !l.implies(e.getLogLevel()) || (!events && e.getLoggerName() != null && e.getLoggerName().startsWith("Events."))) {
            return;
        }
        out.println(line(e));
        if (e.getException() != null) {
            e.getException().printStackTrace(out);
        }
    }

    /** One entry as the console shows it. */
    static String line(LogEntry e) {
        return String.format(Locale.ROOT, "%s %-5s %s [%s] %s", Instant.ofEpochMilli(e.getTime()), e.getLogLevel(), e.getLoggerName(),
                e.getBundle() == null ? "?" : e.getBundle().getSymbolicName(), e.getMessage());
    }
}

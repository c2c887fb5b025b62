package memmap.posix;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * The bundle logs without OSGi: System.Logger serves until a log service is bound, a bound one
 * serves every log of the bundle (made before or after), and an unbind of another factory
 * changes nothing. The OSGi side (Felix Log) is tested in memmap.itest's LoggingTest.
 */
class LogsTest {
    @Test
    void withoutALogServiceEntriesGoToSystemLoggerAndMessagesAreBuiltOnlyWhenEnabled() {
        Log log = new Logs().get("memmap.test.plain");
        assertEquals("memmap.test.plain", log.name());
        AtomicInteger built = new AtomicInteger();
        // JUL's default level is INFO: DEBUG is off, so the message is never built.
        log.debug(() -> {
            built.incrementAndGet();
            return "not built";
        });
        assertEquals(0, built.get());
        assertFalse(log.enabled(Level.DEBUG));
        assertTrue(log.enabled(Level.ERROR));
    }

    @Test
    void aFactoryThatIsNotALoggerFactoryIsRefusedNamingIt() {
        Logs logs = new Logs();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> logs.use(this, "not a factory"));
        assertTrue(e.getMessage().contains("loggerFactory = not a factory"), e.getMessage());
        assertSame(logs.get("a"), logs.get("a"), "one log per name");
    }

    @Test
    void configuredLogsEachRejectionThenTheSettings() {
        List<String> lines = new ArrayList<>();
        Log log = new Log("memmap.test.configured");
        log.use(new Log.Sink() {
            @Override
            public boolean enabled(Level level) {
                return true;
            }

            @Override
            public void log(Level level, String message, Throwable thrown) {
                lines.add(level + " " + message);
            }
        });
        log.configured("p/1#1", "reconfigured", List.of("p: x = 1 rejected", "p: y = 2 rejected"), () -> "x=0 y=0");
        assertEquals(List.of("ERROR p: x = 1 rejected", "ERROR p: y = 2 rejected", "INFO p/1#1 reconfigured: x=0 y=0"), lines);
        log.use(null);
        assertFalse(log.enabled(Level.DEBUG), "back on System.Logger");
    }

    /** A LoggerFactory whose loggers record "LEVEL name message" (every level enabled). */
    static Object factory(List<String> into) {
        ClassLoader cl = LogsTest.class.getClassLoader();
        return java.lang.reflect.Proxy.newProxyInstance(cl, new Class<?>[] {org.osgi.service.log.LoggerFactory.class}, (f, fm, fa) -> {
            if (!fm.getName().equals("getLogger")) {
                return fm.getName().equals("equals") ? f == fa[0] : fm.getName().equals("hashCode") ? System.identityHashCode(f) : null;
            }
            String name = (String) fa[0];
            return java.lang.reflect.Proxy.newProxyInstance(cl, new Class<?>[] {org.osgi.service.log.Logger.class}, (l, m, a) -> {
                if (m.getName().startsWith("is")) {
                    return true;
                }
                if (a != null && a.length >= 1 && a[0] instanceof String msg) {
                    into.add(m.getName() + " " + name + " " + msg);
                }
                return null;
            });
        });
    }

    @Test
    void theLogServiceServesWhileAnyComponentOfTheBundleHoldsIt() {
        List<String> entries = new ArrayList<>();
        Object f = factory(entries);
        Logs logs = new Logs();
        Log early = logs.get("memmap.test.early");
        Object a = new Object();
        Object b = new Object();
        logs.use(a, f);
        logs.use(b, f);
        Log late = logs.get("memmap.test.late");
        early.info("one");
        late.warn("two");
        logs.unuse(a, f); // one component goes: the other still holds the factory
        early.error("three");
        logs.unuse(b, f);
        early.info("not to the log service");
        assertEquals(List.of("info memmap.test.early one", "warn memmap.test.late two", "error memmap.test.early three"), entries);
        assertFalse(early.enabled(Level.DEBUG), "back on System.Logger");
    }
}

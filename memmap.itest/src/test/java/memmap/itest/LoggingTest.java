package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.log.LogEntry;
import org.osgi.service.log.LogLevel;
import org.osgi.service.log.LogListener;
import org.osgi.service.log.LogReaderService;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.MMapOpts;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;

/**
 * What a user reads in the Log Service afterwards (Felix Log in the framework): rejected
 * configuration values, providers bound and unbound with what serves each kind, hot swaps, and
 * File Install's actions on the deploy folder. Each test reads the entries through a
 * LogReaderService listener and waits for the one it expects (no sleeping).
 */
class LoggingTest {
    private static final Context CTX = Context.background();

    /** Every entry delivered since the test began, and a signal on each. */
    static final class Recorder implements LogListener {
        private final List<LogEntry> entries = new ArrayList<>();

        @Override
        public synchronized void logged(LogEntry e) {
            entries.add(e);
            notifyAll();
        }

        /** The first entry matching {@code p}, waiting for it; fails naming {@code what} and what came. */
        synchronized LogEntry await(String what, Predicate<LogEntry> p) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Framework.TIMEOUT_MS);
            while (true) {
                for (LogEntry e : entries) {
                    if (p.test(e)) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    StringBuilder seen = new StringBuilder();
                    entries.forEach(e -> seen.append("\n  ").append(e.getLogLevel()).append(' ').append(e.getLoggerName()).append(" [")
                            .append(e.getBundle().getSymbolicName()).append("] ").append(e.getMessage()));
                    fail("no log entry: " + what + "; entries:" + seen);
                }
                wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            }
        }
    }

    private final Recorder log = new Recorder();
    private LogReaderService reader;

    @BeforeEach
    void listen() {
        reader = Framework.await(LogReaderService.class, null);
        reader.addLogListener(log);
    }

    @AfterEach
    void stop() {
        reader.removeLogListener(log);
        Framework.releaseSpaces();
    }

    static Predicate<LogEntry> entry(LogLevel level, String bundle, String logger, String... parts) {
        return e -> e.getLogLevel() == level && e.getBundle().getSymbolicName().equals(bundle) && e.getLoggerName().equals(logger)
                && java.util.Arrays.stream(parts).allMatch(e.getMessage()::contains);
    }

    @Test
    void aRejectedValueAndTheReconfigurationAreLoggedByTheProvidersBundle() throws Exception {
        BackingProvider p = HotSwapTest.settled(HotSwapTest.ANON).service();
        ConfigurationAdmin cm = Framework.await(ConfigurationAdmin.class, null);
        Configuration cfg = cm.getConfiguration("memmap.anon.provider", "?");
        try {
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("fillAhead", 3L);
            props.put("populate", false);
            cfg.update(props);
            log.await("the rejected fillAhead", entry(LogLevel.ERROR, "memmap.anon", "memmap.anon.provider",
                    "memmap.anon.provider: fillAhead = 3 rejected: must be a power of two of at least 4096"));
            log.await("the settings now serving", entry(LogLevel.INFO, "memmap.anon", "memmap.anon.provider",
                    p.id() + " reconfigured: fillAhead=65536 populate=false"));
        } finally {
            cfg.delete();
        }
        log.await("back to the defaults", entry(LogLevel.INFO, "memmap.anon", "memmap.anon.provider",
                p.id() + " reconfigured: fillAhead=65536 populate=true"));
    }

    @Test
    void aHotSwapIsLoggedWithTheProvidersBoundUnboundAndServing() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider old = HotSwapTest.settled(HotSwapTest.ANON).service();
        AddressSpace as = Framework.space(spaces);
        as.mmap(CTX, MMapOpts.builder().length(16 * 4096).build());
        Bundle anon = HotSwapTest.bundle("memmap.anon");
        anon.stop();
        anon.start();
        BackingProvider next = Framework.await(BackingProvider.class, HotSwapTest.ANON);
        log.await("the old provider unbound, nothing serving", entry(LogLevel.INFO, "memmap.mm", "memmap.mm.providers",
                "provider unbound: " + old.id() + " (anonymous, ", "anonymous now served by none (was " + old.id() + ")"));
        log.await("the new provider bound and serving", entry(LogLevel.INFO, "memmap.mm", "memmap.mm.providers",
                "provider bound: " + next.id() + " (anonymous, memmap.anon ", "anonymous now served by " + next.id() + " (was none)"));
        LogEntry swap = log.await("the swap", entry(LogLevel.INFO, "memmap.mm", "memmap.mm.swap",
                "swapped anonymous from " + old.id() + " to " + next.id() + ": 1 mappings of 1 backings", "longest pause"));
        assertTrue(swap.getMessage().matches(".*, \\d+ bytes copied in \\d+ rounds, longest pause [0-9.]+ ms.*"), swap.getMessage());
        as.release(CTX);
    }

    @Test
    void fileInstallsActionsOnTheDeployFolderAreLogged() throws Exception {
        Path deploy = Path.of(Framework.context().getProperty("felix.fileinstall.dir"));
        Files.createDirectories(deploy);
        Path cfg = deploy.resolve("memmap.mm.cfg");
        try {
            Framework.writeAtomically(cfg, "providerWaitMillis = -5\n");
            log.await("File Install creating the configuration", e -> e.getBundle().getSymbolicName().equals("org.apache.felix.fileinstall")
                    && e.getMessage().contains("Creating configuration {memmap.mm}") && e.getMessage().contains(cfg.getFileName().toString()));
            log.await("the value rejected", entry(LogLevel.ERROR, "memmap.mm", "memmap.mm",
                    "memmap.mm: providerWaitMillis = \"-5\" rejected: must be 0 or more milliseconds; keeping 5000"));
        } finally {
            Files.deleteIfExists(cfg);
        }
        log.await("File Install deleting it", e -> e.getBundle().getSymbolicName().equals("org.apache.felix.fileinstall")
                && e.getMessage().contains("Deleting configuration") && e.getMessage().contains("memmap.mm"));
        log.await("the defaults again", entry(LogLevel.INFO, "memmap.mm", "memmap.mm", "address spaces reconfigured: providerWaitMillis=5000"));
    }
}

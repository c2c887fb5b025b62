package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.annotation.Property;
import org.osgi.test.common.annotation.config.InjectConfiguration;
import org.osgi.test.common.annotation.config.WithConfiguration;
import org.osgi.test.common.service.ServiceAware;
import org.osgi.test.junit5.cm.ConfigurationExtension;
import org.osgi.test.junit5.context.BundleContextExtension;
import org.osgi.test.junit5.service.ServiceExtension;
import org.osgi.framework.Bundle;
import org.osgi.service.cm.Configuration;

import memmap.api.AccessType;
import memmap.api.BufferedIOFallback;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MappableRange;
import memmap.api.MemmapException;
import memmap.api.MemmapFile;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/**
 * The fallback strategy bundle hot-swapped under load: writers write and read back their own
 * regions of a file that cannot be mapped, each copy through whichever strategy ranks highest
 * at that moment, while the bundle is stopped, started, updated and re-ranked. Every byte
 * must check out.
 */
@ExtendWith(BundleContextExtension.class)
@ExtendWith(ServiceExtension.class)
@ExtendWith(ConfigurationExtension.class)
class FallbackStrategyTest {
    static final Context CTX = Context.background();
    static final int REGION = 192 << 10;

    @Test
    @WithConfiguration(pid = "memmap.hostfile", location = "?",
            properties = @Property(key = "noMmap", value = "**/*.fallback", type = Property.Type.Array))
    void readersAndWritersSurviveStopStartUpdateAndRanking(
            @InjectService(filter = "(&(memmap.backing.kind=hostfile)(noMmap=\\*\\*/\\*.fallback))", timeout = Framework.TIMEOUT_MS)
            BackingProvider files,
            @InjectService(cardinality = 0) ServiceAware<BufferedIOFallbackStrategy> strategies,
            @InjectConfiguration(withConfig = @WithConfiguration(pid = "memmap.fallback.bounce", location = "?")) Configuration bounceCfg)
            throws Exception {
        Path f = Files.createTempFile("memmap-fallback", ".fallback");
        Files.write(f, new byte[4 * (1 << 20)]);
        Bundle bundle = HotSwapTest.bundle("memmap.fallback");
        try {
            // The host-file provider serves *.fallback files through the buffered-I/O fallback.
            Backing backing = files.create(CTX, new BackingRequest.HostFile(f, true));
            MappableRange first = new MappableRange(0, 4096);
            MemmapFile file = backing.mappable().translate(CTX, first, first, AccessType.READ).translations().get(0).file();
            MemmapException fb = assertThrows(MemmapException.class, () -> file.mapInternal(new memmap.api.FileRange(0, 4096), AccessType.READ));
            assertSame(BufferedIOFallback.INSTANCE, fb.error());

            AtomicBoolean stop = new AtomicBoolean();
            List<Throwable> failures = new CopyOnWriteArrayList<>();
            Set<String> used = ConcurrentHashMap.newKeySet();
            AtomicLong copies = new AtomicLong();
            List<Thread> workers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                int me = w;
                workers.add(Thread.ofPlatform().name("fallback-worker-" + w).start(() -> {
                    Random rnd = new Random(me);
                    long off = me * (1L << 20) + 100 * me;
                    try {
                        while (!stop.get()) {
                            byte[] data = new byte[REGION];
                            rnd.nextBytes(data);
                            BufferedIOFallbackStrategy s1 = current(strategies, stop);
                            if (s1 == null) {
                                break;
                            }
                            used.add(s1.name());
                            assertEquals(IoResult.ok(REGION), s1.write(file, off, BlockSeq.of(Block.ofArray(data))), "write via " + s1.name());
                            BufferedIOFallbackStrategy s2 = current(strategies, stop);
                            if (s2 == null) {
                                break;
                            }
                            used.add(s2.name());
                            byte[] back = new byte[REGION];
                            BlockSeq dst = BlockSeq.of(Block.ofArray(back).takeFirst(1000), Block.ofSafe(MemorySegment.ofArray(back).asSlice(1000)));
                            assertEquals(IoResult.ok(REGION), s2.read(file, off, dst), "read via " + s2.name());
                            assertArrayEquals(data, back, "written via " + s1.name() + ", read via " + s2.name());
                            copies.addAndGet(2);
                        }
                    } catch (Throwable t) {
                        failures.add(t);
                    }
                }));
            }

            // Each swap waits for the copies to go on and then for its own effect: no time-based pacing.
            try {
                for (int round = 0; round < 10 && failures.isEmpty(); round++) {
                    long before = copies.get();
                    if (bundle.getState() == Bundle.ACTIVE) { // while it is stopped no copy can go on
                        Framework.until("copies go on (round " + round + ")", () -> copies.get() >= before + 6 || !failures.isEmpty());
                    }
                    switch (round % 5) {
                        case 0 -> {
                            bounceCfg.update(new Hashtable<>(java.util.Map.of("service.ranking", 100)));
                            Framework.until("bounce ranks first", () -> top(strategies, "bounce"));
                        }
                        case 1 -> {
                            bundle.stop();
                            Framework.until("no strategy while the bundle is stopped", strategies::isEmpty);
                        }
                        case 2 -> {
                            bundle.start();
                            Framework.until("strategies after the start", () -> !strategies.isEmpty());
                        }
                        case 3 -> {
                            bundle.update();
                            Framework.until("strategies after the update", () -> !strategies.isEmpty());
                        }
                        default -> {
                            bounceCfg.update(new Hashtable<>(java.util.Map.of("service.ranking", 1)));
                            Framework.until("direct ranks first", () -> top(strategies, "direct"));
                        }
                    }
                }
            } finally {
                stop.set(true);
                for (Thread t : workers) {
                    t.join();
                }
            }
            if (!failures.isEmpty()) {
                throw new AssertionError("a copy went wrong during the swaps", failures.get(0));
            }
            assertTrue(copies.get() > 20, "copies done: " + copies.get());
            assertEquals(new HashSet<>(List.of("direct", "bounce")), new HashSet<>(used), "both strategies served copies");
            backing.identity().decRef(CTX);
        } finally {
            if (bundle.getState() != Bundle.ACTIVE) {
                bundle.start();
            }
            Files.deleteIfExists(f);
        }
    }

    /** Whether the highest-ranked strategy now is {@code name}. */
    static boolean top(ServiceAware<BufferedIOFallbackStrategy> strategies, String name) {
        BufferedIOFallbackStrategy s = strategies.getService();
        return s != null && s.name().equals(name);
    }

    /**
     * The highest-ranked strategy now, waiting for one while none is registered (the bundle is
     * stopped); null once {@code stop} is set.
     */
    static BufferedIOFallbackStrategy current(ServiceAware<BufferedIOFallbackStrategy> strategies, AtomicBoolean stop)
            throws InterruptedException {
        while (!stop.get()) {
            BufferedIOFallbackStrategy s = strategies.waitForService(100);
            if (s != null) {
                return s;
            }
        }
        return null;
    }

}

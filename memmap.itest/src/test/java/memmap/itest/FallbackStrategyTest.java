package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Dictionary;
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
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.util.tracker.ServiceTracker;

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
class FallbackStrategyTest {
    static final Context CTX = Context.background();
    static final int REGION = 192 << 10;

    @Test
    void readersAndWritersSurviveStopStartUpdateAndRanking() throws Exception {
        ConfigurationAdmin ca = Framework.await(ConfigurationAdmin.class, null);
        Configuration hostCfg = ca.getConfiguration("memmap.hostfile", "?");
        Configuration bounceCfg = ca.getConfiguration("memmap.fallback.bounce", "?");
        Path f = Files.createTempFile("memmap-fallback", ".fallback");
        Files.write(f, new byte[4 * (1 << 20)]);
        ServiceTracker<BufferedIOFallbackStrategy, BufferedIOFallbackStrategy> strategies =
                new ServiceTracker<>(Framework.context(), BufferedIOFallbackStrategy.class, null);
        strategies.open();
        Bundle fallbackBundle = null;
        for (Bundle b : Framework.context().getBundles()) {
            if (b.getSymbolicName().equals("memmap.fallback")) {
                fallbackBundle = b;
            }
        }
        assertNotNull(fallbackBundle, "memmap.fallback is installed");
        try {
            // A host-file provider that serves *.fallback files through the buffered-I/O fallback.
            Object oldId = Framework.awaitReference(BackingProvider.class, "(memmap.backing.kind=hostfile)").reference()
                    .getProperty(Constants.SERVICE_ID);
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("noMmap", new String[] {"**/*.fallback"});
            hostCfg.update(props);
            BackingProvider files = Framework.awaitReplacement(BackingProvider.class, "(memmap.backing.kind=hostfile)", oldId);
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
                            BufferedIOFallbackStrategy s1 = current(strategies);
                            used.add(s1.name());
                            assertEquals(IoResult.ok(REGION), s1.write(file, off, BlockSeq.of(Block.ofArray(data))), "write via " + s1.name());
                            BufferedIOFallbackStrategy s2 = current(strategies);
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

            Bundle bundle = fallbackBundle;
            long end = System.currentTimeMillis() + 3000;
            int round = 0;
            while (System.currentTimeMillis() < end && failures.isEmpty()) {
                switch (round++ % 5) {
                    case 0 -> bounceCfg.update(new Hashtable<>(java.util.Map.of("service.ranking", 100)));
                    case 1 -> bundle.stop();
                    case 2 -> bundle.start();
                    case 3 -> bundle.update();
                    default -> bounceCfg.update(new Hashtable<>(java.util.Map.of("service.ranking", 1)));
                }
                Thread.sleep(150);
            }
            stop.set(true);
            for (Thread t : workers) {
                t.join(20_000);
            }
            if (!failures.isEmpty()) {
                throw new AssertionError("a copy went wrong during the swaps", failures.get(0));
            }
            assertTrue(copies.get() > 20, "copies done: " + copies.get());
            assertEquals(new HashSet<>(List.of("direct", "bounce")), new HashSet<>(used), "both strategies served copies");
            if (bundle.getState() != Bundle.ACTIVE) {
                bundle.start();
            }
            backing.identity().decRef(CTX);
        } finally {
            strategies.close();
            hostCfg.delete();
            bounceCfg.delete();
            Files.deleteIfExists(f);
        }
    }

    /** The highest-ranked strategy now, waiting for one while none is registered (the bundle is stopped). */
    static BufferedIOFallbackStrategy current(ServiceTracker<BufferedIOFallbackStrategy, BufferedIOFallbackStrategy> t)
            throws InterruptedException {
        BufferedIOFallbackStrategy s = t.getService();
        if (s == null) {
            s = t.waitForService(10_000);
        }
        assertNotNull(s, "a fallback strategy within 10 s");
        return s;
    }

}

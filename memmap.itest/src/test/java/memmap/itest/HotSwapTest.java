package memmap.itest;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.util.Dictionary;
import java.util.Hashtable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

import memmap.api.AddressSpace;
import memmap.api.Context;
import memmap.api.Errno;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.MemmapException;
import memmap.api.MemoryFile;
import memmap.api.provider.AddressSpaces;
import memmap.api.provider.BackingProvider;
import memmap.api.provider.SysVSharedMemory;

/**
 * Backing providers replaced inside Felix while mappings are live and writers run: the bundle
 * stopped and started again, updated; and a configuration change, which applies live.
 */
class HotSwapTest {
    /** Address spaces a failed test left behind go with it. */
    @org.junit.jupiter.api.AfterEach
    void releaseSpaces() {
        Framework.releaseSpaces();
    }

    static final long P = 4096;
    static final int PAGES = 16;
    static final Context CTX = Context.background();
    static final String ANON = "(memmap.backing.kind=anonymous)";

    /** Writes an increasing counter round-robin into the pages of a mapping until stopped. */
    static final class Writer implements AutoCloseable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong last = new AtomicLong(-1);
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final AddressSpace as;
        final long addr;
        final Thread thread;

        Writer(AddressSpace as, long addr) {
            this.as = as;
            this.addr = addr;
            thread = Thread.ofPlatform().name("hot-swap writer").start(this::run);
        }

        private void run() {
            long[] one = new long[1];
            try {
                for (long i = 0; !stop.get(); i++) {
                    one[0] = i;
                    IoResult r = as.write(CTX, addr + (i % PAGES) * P, MemorySegment.ofArray(one));
                    if (r.n() != 8) {
                        throw new AssertionError("write " + i + ": " + r);
                    }
                    last.set(i);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        }

        void awaitProgress(long writes) {
            long from = last.get();
            while (last.get() < from + writes && failure.get() == null) {
                Thread.onSpinWait();
            }
        }

        /** Stops, then checks that the last write to every page is there. */
        @Override
        public void close() throws InterruptedException {
            stop.set(true);
            thread.join();
            assertNull(failure.get(), () -> "the writer failed: " + failure.get());
            long end = last.get();
            long[] one = new long[1];
            for (long i = Math.max(0, end - PAGES + 1); i <= end; i++) {
                assertEquals(IoResult.ok(8), as.read(CTX, addr + (i % PAGES) * P, MemorySegment.ofArray(one)));
                assertEquals(i, one[0], "write " + i + " is lost");
            }
        }
    }

    static Bundle bundle(String bsn) {
        for (Bundle b : Framework.context().getBundles()) {
            if (b.getSymbolicName().equals(bsn)) {
                return b;
            }
        }
        return fail("no bundle " + bsn);
    }

    /**
     * The provider of {@code filter}, once the framework is settled for it: the anonymous
     * provider depends on the memory file, so after an earlier test replaced the memory file it
     * is the provider registered after the memory file serving now (a condition, not a pause).
     */
    static Framework.Found<BackingProvider> settled(String filter) throws InterruptedException {
        if (filter.equals(ANON)) {
            Framework.until("the anonymous provider is bound to the memory file serving now", () -> {
                var mf = Framework.context().getServiceReference(MemoryFile.class);
                java.util.List<org.osgi.framework.ServiceReference<BackingProvider>> anon;
                try {
                    anon = Framework.context().getServiceReferences(BackingProvider.class, ANON).stream().toList();
                } catch (org.osgi.framework.InvalidSyntaxException e) {
                    throw new AssertionError(e);
                }
                return mf != null && anon.size() == 1
                        && (Long) anon.get(0).getProperty(Constants.SERVICE_ID) > (Long) mf.getProperty(Constants.SERVICE_ID);
            });
        }
        return Framework.awaitReference(BackingProvider.class, filter);
    }

    /** Waits until registry {@code r} has segment {@code id} attached {@code nattach} times (handed over). */
    static void awaitSegment(SysVSharedMemory r, int id, long nattach) throws InterruptedException {
        Framework.until("the new registry has segment " + id + " attached " + nattach + " times", () -> {
            try {
                return r.stat(CTX, id).nattach() == nattach;
            } catch (MemmapException notYet) {
                return false;
            }
        });
    }

    /** Waits until {@code provider} holds no backing (the hot swap moved them all). */
    static void awaitEmpty(BackingProvider provider) throws InterruptedException {
        Framework.until("the old provider holds nothing: " + provider.id(), () -> provider.usage().liveBackings() == 0);
        assertEquals(0, provider.usage().allocatedBytes());
    }

    @Test
    void stoppedProviderKeepsServingUntilItsBundleComesBackAndTakesOver() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        BackingProvider old = settled(ANON).service();
        MemoryFile oldFile = Framework.await(MemoryFile.class, null);
        AddressSpace as = Framework.space(spaces);
        long shared = as.mmap(CTX, MMapOpts.builder().length(PAGES * P).build());
        long priv = as.mmap(CTX, MMapOpts.builder().length(4 * P).isPrivate(true).build());
        as.write(CTX, priv + P, MemorySegment.ofArray(new long[] {0x5eed}));
        AddressSpace child = as.fork(CTX);
        Bundle anon = bundle("memmap.anon");
        try (Writer w = new Writer(as, shared)) {
            w.awaitProgress(10_000);
            anon.stop();
            try {
                w.awaitProgress(10_000); // served by the departed provider's memory
                MemmapException e = assertThrows(MemmapException.class, () -> as.mmap(CTX, MMapOpts.builder().length(P).build()));
                assertEquals(Errno.ENODEV, e.errno());
                assertTrue(e.getMessage().contains("no provider for kind anonymous"), e.getMessage());
                assertEquals(1, old.usage().liveBackings(), "nothing moves without a replacement");
            } finally {
                anon.start();
            }
            BackingProvider next = Framework.await(BackingProvider.class, ANON);
            assertNotSame(old, next);
            awaitEmpty(old);
            assertEquals(1, next.usage().liveBackings(), "the live mapping now lives in the new provider");
            assertEquals(0, oldFile.usage().allocated(), "private pages moved out of the old memory file too: " + oldFile.usage());
            w.awaitProgress(10_000);
        }
        long[] p = new long[1];
        child.read(CTX, priv + P, MemorySegment.ofArray(p));
        assertEquals(0x5eed, p[0], "private pages kept their bytes through the move");
        long[] one = new long[1];
        child.read(CTX, shared + 3 * P, MemorySegment.ofArray(one));
        long[] parent = new long[1];
        as.read(CTX, shared + 3 * P, MemorySegment.ofArray(parent));
        assertEquals(parent[0], one[0], "the fork still shares the migrated memory");
        BackingProvider serving = Framework.await(BackingProvider.class, ANON);
        long held = serving.usage().liveBackings();
        as.mmap(CTX, MMapOpts.builder().length(P).build());
        assertEquals(held + 1, serving.usage().liveBackings(), "new mappings use the new provider");
        assertEquals(0, old.usage().liveBackings(), "and never the departed one");
        child.release(CTX);
        as.release(CTX);
        assertEquals(0, Framework.await(BackingProvider.class, ANON).usage().liveBackings());
    }

    /**
     * The anonymous provider's settings apply live: the same provider (the same service) goes
     * on serving the live mapping and the writer never stops; new backings get the new setting.
     */
    @Test
    void aConfigurationChangeAppliesLiveWithoutReplacingTheProvider() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        Framework.Found<BackingProvider> before = settled(ANON);
        Object id = before.reference().getProperty(Constants.SERVICE_ID);
        AddressSpace as = Framework.space(spaces);
        long shared = as.mmap(CTX, MMapOpts.builder().length(PAGES * P).build());
        ConfigurationAdmin cm = Framework.await(ConfigurationAdmin.class, null);
        Configuration cfg = cm.getConfiguration("memmap.anon.provider", "?");
        try (Writer w = new Writer(as, shared)) {
            w.awaitProgress(10_000);
            Dictionary<String, Object> props = new Hashtable<>();
            props.put("fillAhead", 8192L);
            cfg.update(props);
            Framework.until("the provider shows fillAhead = 8192", () -> Long.valueOf(8192).equals(before.reference().getProperty("fillAhead")));
            assertEquals(id, Framework.awaitReference(BackingProvider.class, ANON).reference().getProperty(Constants.SERVICE_ID),
                    "the same provider, not a replacement");
            assertEquals(1, before.service().usage().liveBackings(), "the live mapping stays where it is");
            w.awaitProgress(10_000);
        } finally {
            cfg.delete();
        }
        Framework.until("the provider is back to its defaults", () -> before.reference().getProperty("fillAhead") == null);
        as.release(CTX);
    }

    @Test
    void systemVSegmentsAreHandedOverWithTheirKeysIdsModesAndAttachCounts() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        SysVSharedMemory old = Framework.await(SysVSharedMemory.class, null);
        int id = old.get(CTX, 0x5157, (PAGES + 1) * P, SysVSharedMemory.IPC_CREAT | 0640); // the writer uses pages 1..16
        AddressSpace as = Framework.space(spaces);
        long a = as.shmat(CTX, id, 0, 0);
        AddressSpace child = as.fork(CTX);
        as.write(CTX, a + 8, MemorySegment.ofArray(new long[] {0xfeed}));
        SysVSharedMemory.ShmStat before = old.stat(CTX, id);
        Bundle shm = bundle("memmap.shm");
        try (Writer w = new Writer(as, a + P)) {
            w.awaitProgress(10_000);
            shm.stop();
            shm.start();
            SysVSharedMemory next = Framework.await(SysVSharedMemory.class, null);
            assertNotSame(old, next);
            awaitSegment(next, id, 2);
            SysVSharedMemory.ShmStat after = next.stat(CTX, id);
            assertEquals(before.key(), after.key());
            assertEquals(before.mode(), after.mode());
            assertEquals(2, after.nattach(), "attached in the address space and its fork");
            assertEquals(id, next.get(CTX, 0x5157, 0, 0), "the key finds it");
            w.awaitProgress(10_000);
        }
        long[] v = new long[1];
        child.read(CTX, a + 8, MemorySegment.ofArray(v));
        assertEquals(0xfeed, v[0]);
        as.shmdt(CTX, a);
        child.release(CTX);
        as.release(CTX);
        SysVSharedMemory now = Framework.await(SysVSharedMemory.class, null);
        assertEquals(0, now.stat(CTX, id).nattach());
        now.remove(CTX, id);
    }

    @Test
    void hostFileMappingsAreReopenedByTheReplacementProvider() throws Exception {
        AddressSpaces spaces = Framework.await(AddressSpaces.class, null);
        String kind = "(memmap.backing.kind=hostfile)";
        BackingProvider old = Framework.await(BackingProvider.class, kind);
        java.nio.file.Path f = java.nio.file.Files.createTempFile("memmap-swap", ".bin");
        try {
            java.nio.file.Files.write(f, new byte[(int) ((PAGES + 1) * P)]);
            memmap.api.provider.Backing b = spaces.backing(CTX, new memmap.api.provider.BackingRequest.HostFile(f, true));
            AddressSpace as = Framework.space(spaces);
            long a = as.mmap(CTX, MMapOpts.builder().length((PAGES + 1) * P).mappable(b.mappable()).mappingIdentity(b.identity()).build());
            b.identity().decRef(CTX);
            Bundle hostfile = bundle("memmap.hostfile");
            try (Writer w = new Writer(as, a + P)) {
                w.awaitProgress(10_000);
                hostfile.stop();
                hostfile.start();
                BackingProvider next = Framework.await(BackingProvider.class, kind);
                assertNotSame(old, next);
                awaitEmpty(old);
                assertEquals(1, next.usage().liveBackings(), "the file was re-opened by the new provider");
                w.awaitProgress(10_000);
            }
            as.write(CTX, a, MemorySegment.ofArray("on disk".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            as.msync(CTX, a, P, true, false);
            assertEquals("on disk", new String(java.nio.file.Files.readAllBytes(f), 0, 7, java.nio.charset.StandardCharsets.US_ASCII),
                    "writes after the swap reach the same file");
            as.release(CTX);
        } finally {
            java.nio.file.Files.deleteIfExists(f);
        }
    }
}

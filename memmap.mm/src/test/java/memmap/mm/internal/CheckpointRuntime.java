package memmap.mm.internal;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import memmap.anon.internal.AnonymousProvider;
import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.Context;
import memmap.api.IoOpts;
import memmap.api.IoResult;
import memmap.api.MemoryUsage;
import memmap.api.provider.SysVSharedMemory;
import memmap.api.segment.Segment;
import memmap.shm.internal.ShmProvider;

/** A runtime for checkpoint tests: its own memory file, anonymous and shm providers, address spaces and checkpoints. */
final class CheckpointRuntime implements AutoCloseable {
    static final Context CTX = Context.background();
    private static int ids;
    final MemfdMemoryFile mf;
    final AnonymousProvider anon;
    final ShmProvider shm;
    final ProviderSwap swap = new ProviderSwap();
    final Backings backings;
    final CheckpointService checkpoints;

    CheckpointRuntime(String name) throws Exception {
        mf = new MemfdMemoryFile("ckpt-" + name, 2L << 20, 8L << 30, 0, false);
        anon = new AnonymousProvider(mf, MemoryManagerIoTestConfig.config(), Map.of("component.id", (long) ++ids));
        shm = new ShmProvider(mf, ShmConfig.config(), Map.of("component.id", (long) ++ids));
        backings = Backings.swapping(swap, () -> mf, () -> List.of(anon, shm), () -> shm, () -> null);
        checkpoints = new CheckpointService(backings, swap);
    }

    MemoryManager space() {
        return new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
    }

    /** Allocated bytes per cgroup (what the cgroups are charged). */
    Map<Integer, Long> usageByCgroup() {
        Map<Integer, Long> m = new TreeMap<>();
        for (Map.Entry<Integer, MemoryUsage.Cgroup> e : mf.usage().byCgroup().entrySet()) {
            if (e.getValue().allocated() != 0) {
                m.put(e.getKey(), e.getValue().allocated());
            }
        }
        return m;
    }

    /** The System V registry without attach/detach times of the restore itself (equal by construction). */
    List<SysVSharedMemory.ShmStat> registry() {
        return shm.list();
    }

    /** Every byte of every vma of {@code as}, vma by vma (read with FOLL_FORCE; faults pages in, so compare smaps first). */
    static List<String> contents(MemoryManager mm) {
        List<long[]> ranges = new java.util.ArrayList<>();
        mm.mappingMu.readLock().lock();
        try {
            for (Segment<Vma> v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                ranges.add(new long[] {v.start(), v.end()});
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        List<String> out = new java.util.ArrayList<>();
        for (long[] r : ranges) {
            byte[] b = new byte[(int) (r[1] - r[0])];
            IoResult res = mm.read(CTX, r[0], java.lang.foreign.MemorySegment.ofArray(b), IoOpts.FORCE);
            out.add(Long.toHexString(r[0]) + ":" + res + ":" + sha(b));
        }
        return out;
    }

    static String sha(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    /** Removes every System V segment and releases the memory file (it closes its descriptor once no page is left). */
    @Override
    public void close() {
        shm.list().forEach(st -> {
            try {
                shm.remove(CTX, st.id());
            } catch (Exception e) {
                // gone
            }
        });
        mf.release();
    }
}

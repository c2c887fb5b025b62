package memmap.mm.internal;

import static memmap.mm.internal.CheckpointRuntime.CTX;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MLockMode;
import memmap.api.MMapOpts;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;

/** Checkpoint and restore between two runtimes of one JVM, compared line by line and byte by byte. */
class CheckpointTest {
    static final long P = 4096;
    @TempDir
    Path dir;

    static MMapOpts.Builder anon(long len) {
        return MMapOpts.builder().length(len).perms(AccessType.READ_WRITE).maxPerms(AccessType.ANY_ACCESS).isPrivate(true);
    }

    static void write(AddressSpace as, long addr, String s) {
        assertEquals(IoResult.ok(s.length()), as.write(CTX, addr, MemorySegment.ofArray(s.getBytes())));
    }

    static String read(AddressSpace as, long addr, int n) {
        byte[] b = new byte[n];
        assertEquals(IoResult.ok(n), as.read(CTX, addr, MemorySegment.ofArray(b)));
        return new String(b);
    }

    /** What must be equal after a restore: per space maps and smaps, the registry, the cgroups' usage — then every byte. */
    static List<String> state(CheckpointRuntime rt, List<? extends AddressSpace> spaces, boolean bytes) {
        List<String> out = new ArrayList<>();
        for (AddressSpace as : spaces) {
            out.add(newInode(as.maps(CTX)));
            out.add(newInode(as.smaps(CTX)));
        }
        out.add(rt.registry().toString());
        out.add(rt.usageByCgroup().toString());
        if (bytes) {
            for (AddressSpace as : spaces) {
                out.addAll(CheckpointRuntime.contents((MemoryManager) as));
            }
        }
        return out;
    }

    /**
     * Shared anonymous memory is a new object after a restore, with an inode number of its own
     * (as after CRIU's restore of a shmem mapping): the only field of maps allowed to differ.
     */
    static String newInode(String maps) {
        return maps.replaceAll("(?m)^(\\S+ \\S+ \\S+ \\S+ )\\d+ +(/dev/zero \\(deleted\\))$", "$1(inode) $2"); // and its padding
    }

    /** Equal, or the first line that differs, with its neighbours. */
    static void assertSameState(List<String> want, List<String> got, String what) {
        assertEquals(want.size(), got.size(), what + ": parts");
        for (int i = 0; i < want.size(); i++) {
            String[] w = want.get(i).split("\n");
            String[] g = got.get(i).split("\n");
            for (int j = 0; j < Math.max(w.length, g.length); j++) {
                String wl = j < w.length ? w[j] : "(none)";
                String gl = j < g.length ? g[j] : "(none)";
                if (!wl.equals(gl)) {
                    fail(what + ": part " + i + " line " + j + " (after " + (j > 0 ? w[j - 1] : "-") + "): want <" + wl + "> got <" + gl + ">");
                }
            }
        }
    }

    Path save(CheckpointRuntime rt, List<AddressSpace> spaces, CheckpointOpts opts, String name, CheckpointResult[] result) throws Exception {
        Path p = dir.resolve(name);
        try (FileChannel fc = FileChannel.open(p, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            result[0] = rt.checkpoints.checkpoint(CTX, spaces, fc, opts);
        }
        return p;
    }

    @Test
    void everyKindOfMemoryComesBackAsItWas() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("a"); CheckpointRuntime b = new CheckpointRuntime("b")) {
            MemoryManager one = a.space();
            long priv = one.mmap(CTX, anon(64 * P).name("data").build());
            write(one, priv, "private");
            write(one, priv + 10 * P, "ten");
            one.zero(CTX, priv + 20 * P, P); // allocated, all zeroes
            one.mprotect(CTX, priv + 30 * P, 2 * P, AccessType.READ);
            one.mlock(CTX, priv + 40 * P, P, MLockMode.EAGER);
            one.madvise(CTX, priv + 50 * P, P, MAdvice.DONTFORK);
            Backing shared = a.backings.backing(CTX.withMemCgId(7), new BackingRequest.Anonymous(8 * P));
            long sh = one.mmap(CTX, shared.configure(anon(8 * P).isPrivate(false).build()));
            shared.identity().decRef(CTX);
            write(one, sh + P, "shared");
            int kept = a.shm.get(CTX, 0x42, 3 * P, SysVSharedMemory.IPC_CREAT | 0640);
            int loose = a.shm.get(CTX, 0x43, P, SysVSharedMemory.IPC_CREAT | 0600); // never attached
            int gone = a.shm.get(CTX, 0x44, P, SysVSharedMemory.IPC_CREAT | 0600);
            long k = one.shmat(CTX, kept, 0, 0);
            long g = one.shmat(CTX, gone, 0, 0);
            a.shm.remove(CTX, gone); // removed, alive while attached
            write(one, k + 2 * P, "sysv");
            write(one, g, "gone");
            one.brkSetup(CTX, 0x5555_0000_0000L);
            one.brk(CTX, 0x5555_0000_0000L + 3 * P);
            write(one, 0x5555_0000_0000L + P, "heap");
            MemoryManager two = one.fork(CTX); // shares the private pages copy-on-write
            write(two, priv + 10 * P, "TEN");
            write(two, sh + 2 * P, "both");
            List<AddressSpace> spaces = List.of(one, two);
            CheckpointResult[] res = new CheckpointResult[1];
            Path image = save(a, spaces, CheckpointOpts.FULL, "full.img", res);
            List<String> before = state(a, spaces, false);

            Restored r = b.checkpoints.restore(CTX, List.of(image), RestoreOpts.EAGER);
            assertSameState(before, state(b, r.spaces(), false), "maps, smaps, registry, usage per cgroup");
            assertSameState(state(a, spaces, true), state(b, r.spaces(), true), "every byte");
            AddressSpace one2 = r.spaces().get(0);
            AddressSpace two2 = r.spaces().get(1);
            assertEquals("private", read(one2, priv, 7));
            assertEquals("ten", read(one2, priv + 10 * P, 3));
            assertEquals("TEN", read(two2, priv + 10 * P, 3));
            assertEquals("both", read(one2, sh + 2 * P, 4), "shared memory is shared again");
            assertTrue(res[0].sharedPages() > 0, "fork's pages counted as shared: " + res[0]);
            assertTrue(res[0].zeroPages() > 0, "the zeroed page saved as zero: " + res[0]);
            // Fork sharing preserved: one frame for both, copied on the first write.
            long allocated = b.mf.usage().allocated();
            write(one2, priv, "PRIVATE");
            assertEquals("private", read(two2, priv, 7), "the child's page is still the old one");
            assertTrue(b.mf.usage().allocated() > allocated, "the write copied the shared page: " + allocated + " -> " + b.mf.usage().allocated());
            assertEquals(kept, b.shm.get(CTX, 0x42, 0, 0), "the key finds the same id");
            assertEquals(2, b.shm.stat(CTX, kept).nattach());
            assertEquals(loose, b.shm.get(CTX, 0x43, 0, 0));
            assertEquals("sysv", read(two2, k + 2 * P, 4));

            for (AddressSpace as : spaces) {
                as.release(CTX);
            }
            for (AddressSpace as : r.spaces()) {
                as.release(CTX);
            }
            a.close();
            b.close();
            assertEquals(0, a.mf.usage().allocated(), "nothing left in the source");
            assertEquals(0, b.mf.usage().allocated(), "nothing left in the target");
        }
    }
    /** Found by CheckpointFuzzTest (seed 1362): the tracker logs by address, and the vma that said which segment page an address was is gone. */
    @Test
    void aWriteThroughASharedMappingUnmappedBeforeTheNextImageIsInIt() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("unmapped-a"); CheckpointRuntime b = new CheckpointRuntime("unmapped-b")) {
            MemoryManager mm = a.space();
            int id = a.shm.get(CTX, 0x51, 4 * P, SysVSharedMemory.IPC_CREAT | 0600);
            long at = mm.shmat(CTX, id, 0, 0);
            long keep = mm.shmat(CTX, id, 0, 0); // still attached, so the segment stays
            write(mm, at + 2 * P, "before the full image"); // the page exists in the full image
            CheckpointResult[] full = new CheckpointResult[1];
            Path f = save(a, List.of(mm), CheckpointOpts.startChain(), "full.img", full);
            write(mm, at + 2 * P, "written, then unmapped");
            mm.munmap(CTX, at, 4 * P);
            CheckpointResult[] inc = new CheckpointResult[1];
            Path g = save(a, List.of(mm), CheckpointOpts.after(full[0].chain()), "inc.img", inc);
            inc[0].chain().close();
            Restored r = b.checkpoints.restore(CTX, List.of(f, g), RestoreOpts.EAGER);
            assertEquals("written, then unmapped", read(r.spaces().getFirst(), keep + 2 * P, 22));
            r.spaces().forEach(x -> x.release(CTX));
            mm.release(CTX);
        }
    }
}

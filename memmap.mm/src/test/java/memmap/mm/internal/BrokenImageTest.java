package memmap.mm.internal;

import static memmap.mm.internal.CheckpointRuntime.CTX;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AddressSpace;
import memmap.api.MemmapException;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.ImageException;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.provider.SysVSharedMemory;

/** Every kind of broken image is refused with a message naming what is wrong, and the restoring runtime stays as it was. */
class BrokenImageTest {
    static final long P = 4096;
    @TempDir
    Path dir;

    /** A full image and an incremental one after it, of a space with private pages and a System V segment. */
    Path[] images(CheckpointRuntime a) throws Exception {
        MemoryManager mm = a.space();
        long addr = mm.mmap(CTX, CheckpointTest.anon(64 * P).build());
        byte[] b = new byte[(int) (64 * P)];
        new java.util.Random(1).nextBytes(b);
        mm.write(CTX, addr, MemorySegment.ofArray(b));
        int id = a.shm.get(CTX, 0x77, 2 * P, SysVSharedMemory.IPC_CREAT | 0600);
        mm.shmat(CTX, id, 0, 0);
        Path full = dir.resolve("full");
        Path inc = dir.resolve("inc");
        CheckpointResult r;
        try (FileChannel fc = FileChannel.open(full, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            r = a.checkpoints.checkpoint(CTX, List.of(mm), fc, CheckpointOpts.startChain());
        }
        mm.write(CTX, addr + 5 * P, MemorySegment.ofArray(new byte[] {1, 2, 3}));
        try (FileChannel fc = FileChannel.open(inc, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            a.checkpoints.checkpoint(CTX, List.of(mm), fc, CheckpointOpts.after(r.chain())).chain().close();
        }
        return new Path[] {full, inc};
    }

    Path variant(Path src, String name, java.util.function.UnaryOperator<byte[]> change) throws Exception {
        Path p = dir.resolve(name);
        Files.write(p, change.apply(Files.readAllBytes(src)));
        return p;
    }

    /** The restore fails with the message, and {@code b} is as it was: no memory, no segment. */
    /** {@link #refused(CheckpointRuntime, List, String, RestoreOpts...)} by an eager and by a lazy restore. */
    static void refused(CheckpointRuntime b, List<Path> chain, String message) {
        refused(b, chain, message, RestoreOpts.EAGER, RestoreOpts.LAZY);
    }

    static void refused(CheckpointRuntime b, List<Path> chain, String message, RestoreOpts... modes) {
        for (RestoreOpts mode : modes) {
            long before = b.mf.usage().allocated();
            List<SysVSharedMemory.ShmStat> reg = b.registry();
            MemmapException e = assertThrows(MemmapException.class, () -> b.checkpoints.restore(CTX, chain, mode));
            String how = mode.lazy() ? "lazily" : "eagerly";
            assertTrue(e.getMessage().contains(message), how + ": message <" + e.getMessage() + "> names <" + message + ">");
            assertEquals(before, b.mf.usage().allocated(), how + ": no page left behind by " + chain);
            assertEquals(reg, b.registry(), how + ": no segment left behind by " + chain);
            assertEquals(0, b.swap.spacesInOrder().size(), how + ": no address space left behind");
        }
    }

    @Test
    void brokenImagesAreRefusedAndNothingIsHalfRestored() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("src"); CheckpointRuntime b = new CheckpointRuntime("dst")) {
            Path[] img = images(a);
            long size = Files.size(img[0]);
            refused(b, List.of(variant(img[0], "empty", x -> new byte[0])), "not a memmap image");
            refused(b, List.of(variant(img[0], "magic", x -> { x[0] ^= 1; return x; })), "not a memmap image");
            refused(b, List.of(variant(img[0], "header", x -> { x[40] ^= 1; return x; })), "header's checksum");
            refused(b, List.of(variant(img[0], "version", x -> {
                x[8] = 9;
                java.util.zip.CRC32C c = new java.util.zip.CRC32C();
                c.update(x, 0, 60);
                java.nio.ByteBuffer.wrap(x).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(60, (int) c.getValue());
                return x;
            })), "format version 9");
            refused(b, List.of(variant(img[0], "meta", x -> { x[64 + 12 + 5] ^= 1; return x; })), "metadata record");
            for (long cut : new long[] {30, 64, 70, 200, size / 2, size - 20, size - 1}) {
                refused(b, List.of(variant(img[0], "cut" + cut, x -> java.util.Arrays.copyOf(x, (int) cut))), "truncated");
            }
            // A page's bytes are checked when they load: before an eager restore returns, after a lazy one (LazyRestoreTest).
            refused(b, List.of(variant(img[0], "page", x -> { x[(int) (size / 2)] ^= 0x10; return x; })), "fails its checksum",
                    RestoreOpts.EAGER);
            refused(b, List.of(img[1]), "incremental image");
            refused(b, List.of(img[1], img[0]), "incremental image");
            Path other = dir.resolve("other");
            try (CheckpointRuntime c = new CheckpointRuntime("other")) {
                MemoryManager mm = c.space();
                mm.mmap(CTX, CheckpointTest.anon(P).build());
                try (FileChannel fc = FileChannel.open(other, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    c.checkpoints.checkpoint(CTX, List.of(mm), fc, CheckpointOpts.FULL);
                }
                mm.release(CTX);
            }
            refused(b, List.of(other, img[1]), "does not follow");
            // The runtime's own state in the way: the segment's id is used here already.
            int taken = b.shm.get(CTX, 0x77, P, SysVSharedMemory.IPC_CREAT | 0600);
            refused(b, List.of(img[0]), "already");
            b.shm.remove(CTX, taken);
            // And the good chain restores.
            var r = b.checkpoints.restore(CTX, List.of(img[0], img[1]), RestoreOpts.EAGER);
            byte[] got = new byte[3];
            AddressSpace as = r.spaces().getFirst();
            long addr = 0;
            for (var v = ((MemoryManager) as).vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                addr = v.length() == 64 * P ? v.start() : addr;
            }
            as.read(CTX, addr + 5 * P, MemorySegment.ofArray(got));
            assertArrayEquals(new byte[] {1, 2, 3}, got);
            as.release(CTX);
            a.swap.spacesInOrder().forEach(x -> x.release(CTX));
        }
    }

    @Test
    void anIncrementalCheckpointThatFailsToWriteEndsItsChain() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("failing")) {
            MemoryManager mm = a.space();
            long addr = mm.mmap(CTX, CheckpointTest.anon(16 * P).build());
            mm.write(CTX, addr, MemorySegment.ofArray(new byte[] {1}));
            CheckpointResult r = a.checkpoints.checkpoint(CTX, List.of(mm), java.nio.channels.Channels.newChannel(
                    java.io.OutputStream.nullOutputStream()), CheckpointOpts.startChain());
            mm.write(CTX, addr + P, MemorySegment.ofArray(new byte[] {2}));
            java.nio.channels.WritableByteChannel broken = new java.nio.channels.WritableByteChannel() {
                public int write(java.nio.ByteBuffer b) throws java.io.IOException {
                    throw new java.io.IOException("disk full");
                }

                public boolean isOpen() {
                    return true;
                }

                public void close() {
                }
            };
            MemmapException e = assertThrows(MemmapException.class,
                    () -> a.checkpoints.checkpoint(CTX, List.of(mm), broken, CheckpointOpts.after(r.chain())));
            assertTrue(e.getMessage().contains("disk full"), e.getMessage());
            IllegalStateException closed = assertThrows(IllegalStateException.class, () -> a.checkpoints.checkpoint(CTX, List.of(mm),
                    java.nio.channels.Channels.newChannel(java.io.OutputStream.nullOutputStream()), CheckpointOpts.after(r.chain())));
            assertTrue(closed.getMessage().contains("closed"), closed.getMessage());
            mm.release(CTX);
            assertEquals(0, a.mf.usage().allocated(), "the closed chain let its pages go");
        }
    }
}

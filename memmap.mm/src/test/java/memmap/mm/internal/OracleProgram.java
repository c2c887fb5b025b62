package memmap.mm.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Seeded random programs for the differential (kernel) and model tests: system calls and
 * accesses inside a small window of the address space, every mapping placed with MAP_FIXED
 * so that memmap and Linux lay out the same addresses. Reproducible by seed.
 */
final class OracleProgram {
    static final long P = 4096;
    /** The window: 80 TiB, free in a small C process and inside memmap's x86-64 layout. */
    static final long WINDOW = 0x5000_0000_0000L;
    static final int WINDOW_PAGES = 48;
    static final int FILES = 2;
    static final int FILE_PAGES = 8;
    static final int MAX_PROCS = 3;

    // Linux's constants, as the C side passes them to the kernel.
    static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20, MAP_GROWSDOWN = 0x100,
            MAP_FIXED_NOREPLACE = 0x100000;
    static final int PROT_GROWSDOWN = 0x01000000;
    static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2;
    static final int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;

    enum Op { MMAP, MUNMAP, MPROTECT, MREMAP, MADVISE, MSYNC, READ, WRITE, PROBE, FORK, EXIT, TRUNCATE, PWRITE, MINCORE, FREAD, FWRITE, BRK, HREAD, HWRITE }

    /**
     * One step. Fields by op: MMAP addr len prot flags slot(-1 anonymous) off; MUNMAP addr len;
     * MPROTECT addr len prot; MREMAP addr len len2 flags addr2; MADVISE addr len advice(in
     * prot); MSYNC addr len flags; READ addr len; WRITE addr len seed; PROBE addr write(in
     * prot); TRUNCATE slot len; PWRITE slot off len seed; MINCORE addr len; FREAD addr len and
     * FWRITE addr len seed (ptrace's I/O, ignoring permissions); BRK addr (the break's offset
     * from the heap's start); HREAD addr len and HWRITE addr len seed (addr: an offset in the
     * heap). {@code proc} indexes the live processes.
     */
    record Step(Op op, int proc, long addr, long len, int prot, int flags, int slot, long off, long len2, long addr2, long seed) {
        @Override
        public String toString() {
            String p = "p" + proc + " ";
            return switch (op) {
                case MMAP -> p + String.format("mmap(%#x, %#x, prot=%d, flags=%#x, %s, off=%#x)", addr, len, prot, flags,
                        slot < 0 ? "anon" : "file" + slot, off);
                case MUNMAP -> p + String.format("munmap(%#x, %#x)", addr, len);
                case MPROTECT -> p + String.format("mprotect(%#x, %#x, prot=%d)", addr, len, prot);
                case MREMAP -> p + String.format("mremap(%#x, %#x, %#x, flags=%d, %#x)", addr, len, len2, flags, addr2);
                case MADVISE -> p + String.format("madvise(%#x, %#x, %d)", addr, len, prot);
                case MSYNC -> p + String.format("msync(%#x, %#x, flags=%d)", addr, len, flags);
                case READ -> p + String.format("read(%#x, %#x)", addr, len);
                case WRITE -> p + String.format("write(%#x, %#x, seed=%d)", addr, len, seed);
                case PROBE -> p + String.format("probe(%#x, %s)", addr, prot != 0 ? "write" : "read");
                case FORK -> p + "fork()";
                case EXIT -> p + "exit()";
                case TRUNCATE -> String.format("ftruncate(file%d, %#x)", slot, len);
                case PWRITE -> String.format("pwrite(file%d, off=%#x, %#x bytes, seed=%d)", slot, off, len, seed);
                case MINCORE -> p + String.format("mincore(%#x, %#x)", addr, len);
                case FREAD -> p + String.format("read /proc/self/mem(%#x, %#x)", addr, len);
                case FWRITE -> p + String.format("write /proc/self/mem(%#x, %#x, seed=%d)", addr, len, seed);
                case BRK -> p + String.format("brk(heap + %#x)", addr);
                case HREAD -> p + String.format("read(heap + %#x, %#x)", addr, len);
                case HWRITE -> p + String.format("write(heap + %#x, %#x, seed=%d)", addr, len, seed);
            };
        }
    }

    /** How far from its start the heap's steps reach. */
    static final int HEAP_PAGES = 24;

    /** The bytes a WRITE, HWRITE, FWRITE or PWRITE step writes. */
    static byte[] data(Step s) {
        byte[] b = new byte[(int) s.len()];
        new Random(s.seed()).nextBytes(b);
        return b;
    }

    private OracleProgram() {}

    /** A program of 8 to 40 steps from {@code seed}; fork and exit only with {@code withFork}. */
    static List<Step> generate(long seed, boolean withFork) {
        Random r = new Random(seed);
        int n = 8 + r.nextInt(33);
        List<Step> steps = new ArrayList<>();
        int procs = 1;
        for (int i = 0; i < n; i++) {
            int proc = r.nextInt(procs);
            int k = r.nextInt(100);
            Step s;
            if (r.nextInt(8) == 0) { // the heap: brk and I/O around the break
                int h = r.nextInt(5);
                if (h < 2) {
                    long off = r.nextInt(HEAP_PAGES) * P + (r.nextBoolean() ? r.nextInt((int) P) : 0);
                    s = new Step(Op.BRK, proc, off, 0, 0, 0, 0, 0, 0, 0, 0);
                } else if (h < 4) {
                    s = new Step(Op.HREAD, proc, r.nextLong(HEAP_PAGES * P), 1 + r.nextInt((int) (2 * P)), 0, 0, 0, 0, 0, 0, 0);
                } else {
                    s = new Step(Op.HWRITE, proc, r.nextLong(HEAP_PAGES * P), 1 + r.nextInt((int) (2 * P)), 0, 0, 0, 0, 0, 0, r.nextLong());
                }
            } else if (k < 22) {
                long addr = page(r, WINDOW_PAGES - 1);
                long len = (1 + r.nextInt(8)) * P - (r.nextInt(6) == 0 ? r.nextInt((int) P - 1) : 0);
                boolean anon = r.nextInt(3) == 0;
                int flags = (r.nextBoolean() ? MAP_PRIVATE : MAP_SHARED) | (anon ? MAP_ANONYMOUS : 0)
                        | (r.nextInt(10) == 0 ? MAP_FIXED_NOREPLACE : MAP_FIXED);
                if (anon && (flags & MAP_PRIVATE) != 0 && r.nextInt(3) == 0) {
                    flags |= MAP_GROWSDOWN; // a stack: accesses below grow it (gVisor rejects it for files and shared memory)
                }
                long off = anon ? 0 : r.nextInt(FILE_PAGES + 2) * P;
                s = new Step(Op.MMAP, proc, addr, len, prot(r), flags, anon ? -1 : r.nextInt(FILES), off, 0, 0, 0);
            } else if (k < 30) {
                s = new Step(Op.MUNMAP, proc, page(r, WINDOW_PAGES), pages(r, 6), 0, 0, 0, 0, 0, 0, 0);
            } else if (k < 44) {
                s = new Step(Op.MPROTECT, proc, page(r, WINDOW_PAGES), pages(r, 6), prot(r) | (r.nextInt(6) == 0 ? PROT_GROWSDOWN : 0),
                        0, 0, 0, 0, 0, 0);
            } else if (k < 52) {
                long addr = page(r, WINDOW_PAGES);
                long len = pages(r, 5);
                int kind = r.nextInt(4);
                if (kind < 2) { // grow or shrink in place
                    s = new Step(Op.MREMAP, proc, addr, len, 0, 0, 0, 0, pages(r, 6), 0, 0);
                } else { // move to a fixed place in the window
                    long len2 = kind == 2 ? len : pages(r, 6);
                    s = new Step(Op.MREMAP, proc, addr, len, 0, MREMAP_MAYMOVE | MREMAP_FIXED, 0, 0, len2, page(r, WINDOW_PAGES - 6), 0);
                }
            } else if (k < 58) {
                int[] advice = {4, 4, 10, 11, 0, 3};
                s = new Step(Op.MADVISE, proc, page(r, WINDOW_PAGES), pages(r, 6), advice[r.nextInt(advice.length)], 0, 0, 0, 0, 0, 0);
            } else if (k < 61) {
                int[] flags = {MS_SYNC, MS_ASYNC, MS_SYNC | MS_INVALIDATE, MS_ASYNC | MS_INVALIDATE, 0};
                s = new Step(Op.MSYNC, proc, page(r, WINDOW_PAGES), pages(r, 6), 0, flags[r.nextInt(flags.length)], 0, 0, 0, 0, 0);
            } else if (k < 71) {
                s = new Step(Op.READ, proc, WINDOW + r.nextLong(WINDOW_PAGES * P - 16), 1 + r.nextInt((int) (3 * P)), 0, 0, 0, 0, 0, 0, 0);
            } else if (k < 74) {
                s = new Step(Op.FREAD, proc, WINDOW + r.nextLong(WINDOW_PAGES * P - 16), 1 + r.nextInt((int) (3 * P)), 0, 0, 0, 0, 0, 0, 0);
            } else if (k < 85) {
                s = new Step(Op.WRITE, proc, WINDOW + r.nextLong(WINDOW_PAGES * P - 16), 1 + r.nextInt((int) (2 * P)), 0, 0, 0, 0, 0, 0,
                        r.nextLong());
            } else if (k < 88) {
                s = new Step(Op.FWRITE, proc, WINDOW + r.nextLong(WINDOW_PAGES * P - 16), 1 + r.nextInt((int) (2 * P)), 0, 0, 0, 0, 0, 0,
                        r.nextLong());
            } else if (k < 90) {
                s = new Step(Op.PROBE, proc, WINDOW + r.nextLong(WINDOW_PAGES * P), 0, r.nextInt(2), 0, 0, 0, 0, 0, 0);
            } else if (k < 92) {
                long addr = r.nextInt(8) == 0 ? WINDOW + r.nextLong(WINDOW_PAGES * P) : page(r, WINDOW_PAGES);
                s = new Step(Op.MINCORE, proc, addr, r.nextInt(8 * (int) P), 0, 0, 0, 0, 0, 0, 0);
            } else if (k < 95) {
                if (withFork && procs < MAX_PROCS) {
                    s = new Step(Op.FORK, proc, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                    procs++;
                } else if (withFork && procs > 1) {
                    s = new Step(Op.EXIT, proc, 0, 0, 0, 0, 0, 0, 0, 0, 0);
                    procs--;
                } else {
                    continue;
                }
            } else if (k < 98) {
                long size = r.nextInt(FILE_PAGES + 3) * P + (r.nextInt(3) == 0 ? r.nextInt((int) P) : 0);
                s = new Step(Op.TRUNCATE, 0, 0, size, 0, 0, r.nextInt(FILES), 0, 0, 0, 0);
            } else {
                s = new Step(Op.PWRITE, 0, 0, 1 + r.nextInt((int) P), 0, 0, r.nextInt(FILES), r.nextInt((FILE_PAGES + 2) * (int) P), 0, 0,
                        r.nextLong());
            }
            steps.add(s);
        }
        return steps;
    }

    private static long page(Random r, int bound) {
        return WINDOW + r.nextInt(bound) * P;
    }

    private static long pages(Random r, int max) {
        return (1 + r.nextInt(max)) * P;
    }

    private static int prot(Random r) {
        int[] prots = {PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_READ | PROT_EXEC, 0, PROT_WRITE,
                PROT_READ | PROT_WRITE | PROT_EXEC};
        return prots[r.nextInt(prots.length)];
    }
}

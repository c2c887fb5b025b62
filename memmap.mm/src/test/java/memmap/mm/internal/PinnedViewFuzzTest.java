package memmap.mm.internal;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

import memmap.api.AccessType;
import memmap.api.IoOpts;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MemmapException;
import memmap.api.PinnedView;

/**
 * Generated programs of mapping calls, forks, writes and pins, checked after every step against
 * the property a pinned view promises: while it is not stale, it shows exactly what the address
 * space maps there (read through both, then a write through either seen by the other); when it
 * is stale it is still safe to read; and once every view is closed and every space released,
 * no page is left allocated. Reproducible by seed; a failure prints the program.
 */
class PinnedViewFuzzTest extends TwoAnonymousProviders {
    static final long W = 0x4000_0000_0000L;
    static final int PAGES = 24;

    record Pin(PinnedView view, int space) {
    }

    @Test
    void openViewsAreCoherentWithTheirAddressSpaceUntilTheyGoStale() throws Exception {
        int programs = Integer.getInteger("memmap.fuzz.pins", 300);
        for (long seed = 1; seed <= programs; seed++) {
            run(seed);
            assertEquals(0, mf1.usage().allocated(), "seed " + seed + ": every page freed once views and spaces are gone");
        }
    }

    void run(long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        List<MemoryManager> spaces = new ArrayList<>(List.of(new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings)));
        List<Pin> pins = new ArrayList<>();
        List<String> program = new ArrayList<>();
        try {
            for (int step = 0; step < 60; step++) {
                int si = r.nextInt(spaces.size());
                MemoryManager mm = spaces.get(si);
                long a = W + r.nextInt(PAGES) * P;
                long len = (1 + r.nextInt(6)) * P;
                String op;
                try {
                    switch (r.nextInt(11)) {
                        case 0, 1 -> {
                            boolean priv = r.nextInt(3) != 0;
                            op = "mmap " + (priv ? "private" : "shared") + " " + Long.toHexString(a) + " +" + len;
                            mm.mmap(CTX, MMapOpts.builder().addr(a).fixed(true).unmap(true).length(len).isPrivate(priv).build());
                        }
                        case 2 -> {
                            op = "munmap " + Long.toHexString(a) + " +" + len;
                            mm.munmap(CTX, a, len);
                        }
                        case 3 -> {
                            AccessType p = new AccessType[] {AccessType.READ, AccessType.READ_WRITE, AccessType.NO_ACCESS}[r.nextInt(3)];
                            op = "mprotect " + Long.toHexString(a) + " +" + len + " " + p;
                            mm.mprotect(CTX, a, len, p);
                        }
                        case 4 -> {
                            long to = W + r.nextInt(PAGES) * P;
                            op = "mremap " + Long.toHexString(a) + " +" + len + " -> " + Long.toHexString(to);
                            mm.mremap(CTX, a, len, len, MRemapMove.MUST_MOVE, to);
                        }
                        case 5 -> {
                            op = "madvise dontneed " + Long.toHexString(a) + " +" + len;
                            mm.madvise(CTX, a, len, MAdvice.DONTNEED);
                        }
                        case 6 -> {
                            if (spaces.size() < 3) {
                                op = "fork " + si;
                                MemoryManager child = mm.fork(CTX);
                                spaces.add(child);
                                for (Pin pin : pins) { // the parent's write views do not reach the child
                                    PinnedView v = pin.view();
                                    long off = pin.space() == si && v.access().write() && !v.isStale() ? r.nextLong(v.range().length()) : -1;
                                    if (off >= 0 && isPrivate(mm, v.range().start() + off)) { // shared memory is shared with the child

                                        byte[] before = new byte[1];
                                        IoResult rb = child.read(CTX, v.range().start() + off, MemorySegment.ofArray(before), IoOpts.FORCE);
                                        v.segment().set(ValueLayout.JAVA_BYTE, off, (byte) (before[0] + 1));
                                        byte[] after = new byte[1];
                                        child.read(CTX, v.range().start() + off, MemorySegment.ofArray(after), IoOpts.FORCE);
                                        if (rb.n() == 1) {
                                            assertEquals(before[0], after[0], at(seed, program, "a write through the parent's view reached the child: " + v));
                                        }
                                    }
                                }
                            } else {
                                op = "release " + (spaces.size() - 1);
                                spaces.removeLast().release(CTX);
                            }
                        }
                        case 7 -> {
                            op = "write " + Long.toHexString(a) + " in " + si;
                            mm.write(CTX, a + r.nextInt((int) P - 8), MemorySegment.ofArray(new long[] {r.nextLong()}), IoOpts.FORCE);
                        }
                        case 8, 9 -> {
                            AccessType at = r.nextBoolean() ? AccessType.READ : AccessType.READ_WRITE;
                            long off = r.nextInt((int) P);
                            op = "pin " + at + " " + Long.toHexString(a + off) + " +" + (len - off) + " in " + si;
                            pins.add(new Pin(mm.pin(CTX, a + off, len - off, at, true), si));
                        }
                        default -> {
                            if (pins.isEmpty()) {
                                op = "nothing";
                            } else {
                                int k = r.nextInt(pins.size());
                                op = "unpin " + k;
                                pins.remove(k).view().close();
                            }
                        }
                    }
                } catch (MemmapException e) {
                    op = "refused: " + e.getMessage();
                }
                program.add(op);
                check(spaces, pins, r, seed, program);
            }
        } finally {
            pins.forEach(p -> p.view().close());
            spaces.forEach(s -> s.release(CTX));
        }
    }

    static void check(List<MemoryManager> spaces, List<Pin> pins, SplittableRandom r, long seed, List<String> program) {
        for (MemoryManager mm : spaces) {
            mm.checkInvariants();
        }
        for (Pin pin : pins) {
            PinnedView v = pin.view();
            if (pin.space() >= spaces.size()) {
                assertTrue(v.isStale(), at(seed, program, "a view of a released space is stale"));
                continue;
            }
            MemoryManager mm = spaces.get(pin.space());
            long n = v.range().length();
            byte[] fromView = v.segment().toArray(ValueLayout.JAVA_BYTE); // always safe, stale or not
            if (v.isStale()) {
                continue;
            }
            byte[] fromSpace = new byte[(int) n];
            IoResult got = mm.read(CTX, v.range().start(), MemorySegment.ofArray(fromSpace), IoOpts.FORCE);
            assertEquals(n, got.n(), at(seed, program, "a live view's range is mapped: " + v + " " + got));
            assertArrayEquals(fromSpace, fromView, at(seed, program, "a live view shows what the space maps: " + v));
            if (v.access().write()) {
                long off = r.nextLong(n);
                byte b = (byte) r.nextInt();
                v.segment().set(ValueLayout.JAVA_BYTE, off, b);
                byte[] one = new byte[1];
                mm.read(CTX, v.range().start() + off, MemorySegment.ofArray(one), IoOpts.FORCE);
                assertEquals(b, one[0], at(seed, program, "the space sees a live write view's write at +" + off + ": " + v));
            }
        }
    }

    static boolean isPrivate(MemoryManager mm, long addr) {
        mm.mappingMu.readLock().lock();
        try {
            var v = mm.vmas.set.findSegment(addr);
            return v != null && v.value().isPrivate();
        } finally {
            mm.mappingMu.readLock().unlock();
        }
    }

    static String at(long seed, List<String> program, String what) {
        return "seed " + seed + ": " + what + "\nprogram:\n  " + String.join("\n  ", program);
    }
}

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
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import memmap.api.AccessType;
import memmap.api.AddressSpace;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MemmapException;
import memmap.api.checkpoint.Chain;
import memmap.api.checkpoint.CheckpointOpts;
import memmap.api.checkpoint.CheckpointResult;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.api.provider.SysVSharedMemory;

/**
 * Generated programs (seeded): address spaces mapped, written, forked, unmapped, protected,
 * zapped, with System V and shared anonymous memory, and checkpoints taken among the steps —
 * full ones and incremental ones after them. After each checkpoint the chain so far is restored
 * into a fresh runtime and compared with the source as it was at that checkpoint: maps, smaps,
 * the System V registry, usage per cgroup, every byte. The source is the oracle. A failure is
 * shrunk to a shortest failing program.
 */
class CheckpointFuzzTest {
    static final long P = 4096;
    static final int PROGRAMS = Integer.getInteger("memmap.checkpointFuzz.programs", 60);
    @TempDir
    Path dir;

    /** One step: {@code op} and parameters interpreted modulo what exists (a step that does not apply is skipped). */
    record Step(int op, int a, int b, int c) {
        @Override
        public String toString() {
            return OPS[op] + "(" + a + ", " + b + ", " + c + ")";
        }
    }

    static final String[] OPS = {"mmapPrivate", "mmapShared", "shmat", "write", "write", "write", "zero", "fork", "munmap", "mprotect",
            "dontneed", "checkpoint", "release", "shmrm"};

    static List<Step> program(long seed) {
        Random r = new Random(seed);
        List<Step> steps = new ArrayList<>();
        int n = 20 + r.nextInt(40);
        for (int i = 0; i < n; i++) {
            steps.add(new Step(r.nextInt(OPS.length), r.nextInt(1 << 20), r.nextInt(1 << 20), r.nextInt(1 << 20)));
        }
        steps.add(new Step(11, 0, 1, 0)); // always end with an incremental checkpoint
        return steps;
    }

    @Test
    void restoredChainsEqualTheSourceAtEachCheckpoint() throws Exception {
        for (long seed = 1; seed <= PROGRAMS; seed++) {
            List<Step> prog = program(seed);
            String failure = run(prog, "s" + seed);
            if (failure != null) {
                List<Step> min = shrink(prog, failure, "s" + seed);
                fail("seed " + seed + " fails: " + failure + "\nthe minimal program: " + run(min, "min") + "\nminimal program (" + min.size() + " steps): " + min);
            }
        }
    }

    /** Drops steps one at a time while the program still fails. */
    List<Step> shrink(List<Step> prog, String failure, String name) throws Exception {
        List<Step> cur = new ArrayList<>(prog);
        boolean changed = true;
        int tries = 0;
        while (changed && tries < 400) {
            changed = false;
            for (int i = 0; i < cur.size() && tries < 400; i++, tries++) {
                List<Step> cand = new ArrayList<>(cur);
                cand.remove(i);
                if (run(cand, name + "-" + tries) != null) {
                    cur = cand;
                    changed = true;
                    i--;
                }
            }
        }
        return cur;
    }

    /** Runs {@code prog}; null if every restore matched, else what differed. */
    String run(List<Step> prog, String name) throws Exception {
        Path d = Files.createTempDirectory(dir, name);
        try (CheckpointRuntime a = new CheckpointRuntime(name + "a")) {
            List<MemoryManager> spaces = new ArrayList<>(List.of(a.space()));
            List<long[]> maps = new ArrayList<>(); // {space serial, addr, len}
            List<Integer> segs = new ArrayList<>();
            List<Path> chainFiles = new ArrayList<>();
            Chain chain = null;
            int files = 0;
            Random bytes = new Random(prog.hashCode());
            String result = null;
            try {
                for (Step s : prog) {
                    MemoryManager mm = spaces.get(s.a() % spaces.size());
                    try {
                        switch (OPS[s.op()]) {
                            case "mmapPrivate" -> {
                                long len = (1 + s.b() % 24) * P;
                                long at = mm.mmap(CTX, CheckpointTest.anon(len).build());
                                maps.add(new long[] {mm.serial, at, len});
                            }
                            case "mmapShared" -> {
                                long len = (1 + s.b() % 8) * P;
                                Backing b = a.backings.backing(CTX.withMemCgId(s.c() % 3), new BackingRequest.Anonymous(len));
                                long at = mm.mmap(CTX, b.configure(CheckpointTest.anon(len).isPrivate(false).build()));
                                b.identity().decRef(CTX);
                                maps.add(new long[] {mm.serial, at, len});
                            }
                            case "shmat" -> {
                                int id = segs.isEmpty() || s.c() % 3 == 0
                                        ? a.shm.get(CTX, SysVSharedMemory.IPC_PRIVATE, (1 + s.b() % 6) * P, SysVSharedMemory.IPC_CREAT | 0600)
                                        : segs.get(s.c() % segs.size());
                                if (!segs.contains(id)) {
                                    segs.add(id);
                                }
                                long at = mm.shmat(CTX, id, 0, 0);
                                maps.add(new long[] {mm.serial, at, a.shm.stat(CTX, id).size()});
                            }
                            case "write", "zero", "munmap", "mprotect", "dontneed" -> {
                                long[] m = mapOf(maps, mm, s.b());
                                if (m == null) {
                                    continue;
                                }
                                long off = (s.c() % (m[2] / P)) * P + (s.op() == 3 ? s.c() % 100 : 0);
                                long len = Math.min(m[2] - (off & -P), (1 + s.c() % 3) * P);
                                switch (OPS[s.op()]) {
                                    case "write" -> {
                                        byte[] b = new byte[(int) Math.min(len, 1 + s.b() % (2 * P))];
                                        bytes.nextBytes(b);
                                        mm.write(CTX, m[1] + off, MemorySegment.ofArray(b));
                                    }
                                    case "zero" -> mm.zero(CTX, m[1] + (off & -P), len);
                                    case "munmap" -> mm.munmap(CTX, m[1] + (off & -P), len);
                                    case "mprotect" -> mm.mprotect(CTX, m[1] + (off & -P), len,
                                            new AccessType[] {AccessType.READ, AccessType.NO_ACCESS, AccessType.READ_WRITE}[s.c() % 3]);
                                    case "dontneed" -> mm.madvise(CTX, m[1] + (off & -P), len, MAdvice.DONTNEED);
                                    default -> throw new AssertionError();
                                }
                            }
                            case "fork" -> {
                                if (spaces.size() < 4) {
                                    MemoryManager child = mm.fork(CTX);
                                    spaces.add(child);
                                    for (long[] m : new ArrayList<>(maps)) {
                                        if (m[0] == mm.serial) {
                                            maps.add(new long[] {child.serial, m[1], m[2]});
                                        }
                                    }
                                }
                            }
                            case "release" -> {
                                if (spaces.size() > 1) {
                                    spaces.remove(mm);
                                    mm.release(CTX);
                                    maps.removeIf(m -> m[0] == mm.serial);
                                }
                            }
                            case "shmrm" -> {
                                if (!segs.isEmpty()) {
                                    a.shm.remove(CTX, segs.remove(s.c() % segs.size()));
                                }
                            }
                            case "checkpoint" -> {
                                boolean incremental = chain != null && s.b() % 4 != 0;
                                if (!incremental && chain != null) {
                                    chain.close();
                                    chain = null;
                                    chainFiles.clear();
                                }
                                Path f = d.resolve("img" + (files++));
                                CheckpointResult res;
                                List<AddressSpace> list = new ArrayList<>(spaces);
                                try (FileChannel fc = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                                    res = a.checkpoints.checkpoint(CTX, list, fc, incremental ? CheckpointOpts.after(chain) : CheckpointOpts.startChain());
                                }
                                chain = res.chain();
                                chainFiles.add(f);
                                List<String> want = CheckpointTest.state(a, list, false);
                                try (CheckpointRuntime b = new CheckpointRuntime(name + "b")) {
                                    Restored r = b.checkpoints.restore(CTX, chainFiles, RestoreOpts.EAGER);
                                    List<String> got = CheckpointTest.state(b, r.spaces(), false);
                                    String diff = diff(want, got, "after checkpoint " + chainFiles.size() + " (depth " + res.depth() + ")");
                                    if (diff == null) {
                                        diff = diff(contents(list), contents(r.spaces()), "bytes after checkpoint " + chainFiles.size());
                                    }
                                    r.spaces().forEach(x -> x.release(CTX));
                                    b.close();
                                    if (diff == null && b.mf.usage().allocated() != 0) {
                                        diff = "the restored runtime leaked " + b.mf.usage().allocated() + " bytes";
                                    }
                                    if (diff == null) {
                                        diff = lazyDiff(chainFiles, prog.hashCode() + files, name);
                                    }
                                    if (diff != null) {
                                        result = diff;
                                        return result;
                                    }
                                }
                            }
                            default -> throw new AssertionError(s);
                        }
                    } catch (MemmapException e) {
                        // A refused step (ENOMEM, EINVAL on a range already gone): the program goes on.
                    }
                    mm.checkInvariants();
                }
                return result;
            } finally {
                if (chain != null) {
                    chain.close();
                }
                spaces.forEach(x -> x.release(CTX));
                a.close();
                if (result == null && a.mf.usage().allocated() != 0) {
                    return "the source leaked " + a.mf.usage().allocated() + " bytes after the chain closed";
                }
            }
        }
    }

    /**
     * The chain restored lazily (half the time with the loader held to the records accesses
     * wait for) and eagerly, the same random changes made to both before the load is done, then
     * compared: every outcome, every byte, smaps, usage; both back to zero after. Null if equal.
     */
    static String lazyDiff(List<Path> chain, long seed, String name) throws Exception {
        try (CheckpointRuntime e = new CheckpointRuntime(name + "e"); CheckpointRuntime l = new CheckpointRuntime(name + "l")) {
            Restored eager = e.checkpoints.restore(CTX, chain, RestoreOpts.EAGER);
            l.checkpoints.holdLazyLoads = (seed & 1) == 0;
            Restored lazy = l.checkpoints.restore(CTX, chain, RestoreOpts.LAZY);
            Random r = new Random(seed);
            String diff = null;
            for (int k = 0; k < 8 && diff == null; k++) {
                int op = r.nextInt(7);
                int space = r.nextInt(eager.spaces().size());
                long pick = r.nextLong() & Long.MAX_VALUE;
                String want = change(op, (MemoryManager) eager.spaces().get(space), pick);
                String got = change(op, (MemoryManager) lazy.spaces().get(space), pick);
                if (Boolean.getBoolean("memmap.checkpointFuzz.trace")) {
                    System.out.println("change " + k + " op " + op + " space " + space + " pick " + pick + ": " + want + " / " + got
                            + " usage " + e.usageByCgroup() + " / " + l.usageByCgroup());
                }
                if (!want.equals(got)) {
                    diff = "lazy restore, change " + k + " (op " + op + " on space " + space + "): eager gave <" + want + ">, lazy <" + got + ">";
                }
            }
            if (diff == null) {
                diff = diff(contents(eager.spaces()), contents(lazy.spaces()), "lazy restore: bytes");
            }
            if (diff == null) {
                diff = diff(CheckpointTest.state(e, eager.spaces(), false), CheckpointTest.state(l, lazy.spaces(), false), "lazy restore: state");
            }
            l.checkpoints.holdLazyLoads = false;
            lazy.awaitLoaded();
            eager.spaces().forEach(x -> x.release(CTX));
            lazy.spaces().forEach(x -> x.release(CTX));
            e.close();
            l.close();
            if (diff == null && l.mf.usage().allocated() != 0) {
                diff = "the lazily restored runtime leaked " + l.mf.usage().allocated() + " bytes";
            }
            return diff;
        }
    }

    /** The changes' context: one clock for both sides, so the times they set (a detach's) are equal. */
    static final memmap.api.Context FIXED = new memmap.api.Context(CTX.credentials(), CTX.limits(), CTX.memCgId(), 0,
            java.time.InstantSource.fixed(java.time.Instant.ofEpochSecond(1_800_000_000L)));

    /** One change to a vma of {@code mm} chosen by {@code pick}; its outcome as text. */
    static String change(int op, MemoryManager mm, long pick) {
        memmap.api.Context CTX = FIXED;
        List<long[]> vmas = new ArrayList<>();
        mm.mappingMu.readLock().lock();
        try {
            for (var v = mm.vmas.set.firstSegment(); v != null; v = v.nextSegment()) {
                vmas.add(new long[] {v.start(), v.end()});
            }
        } finally {
            mm.mappingMu.readLock().unlock();
        }
        if (vmas.isEmpty()) {
            return "no vma";
        }
        long[] v = vmas.get((int) (pick % vmas.size()));
        long pages = (v[1] - v[0]) / P;
        long at = v[0] + ((pick >>> 8) % pages) * P;
        long len = Math.min(v[1] - at, (1 + (pick >>> 20) % 3) * P);
        try {
            return switch (op) {
                case 0 -> {
                    byte[] b = new byte[(int) len];
                    new Random(pick).nextBytes(b);
                    yield mm.write(CTX, at, MemorySegment.ofArray(b), memmap.api.IoOpts.FORCE).toString();
                }
                case 1 -> {
                    byte[] b = new byte[(int) len];
                    IoResult res = mm.read(CTX, at, MemorySegment.ofArray(b));
                    yield res + CheckpointRuntime.sha(b);
                }
                case 2 -> {
                    mm.mprotect(CTX, at, len, AccessType.READ);
                    yield "mprotect";
                }
                case 3 -> {
                    mm.munmap(CTX, at, len);
                    yield "munmap";
                }
                case 4 -> {
                    mm.madvise(CTX, at, len, MAdvice.DONTNEED);
                    yield "dontneed";
                }
                case 5 -> {
                    MemoryManager child = mm.fork(CTX);
                    String w = child.write(CTX, at, MemorySegment.ofArray(new byte[] {7, 7}), memmap.api.IoOpts.FORCE).toString();
                    child.release(CTX);
                    yield "fork " + w;
                }
                default -> Long.toHexString(mm.mremap(CTX, at, len, len + 2 * P, memmap.api.MRemapMove.MAY_MOVE, 0) - at);
            };
        } catch (MemmapException ex) {
            return ex.getMessage();
        }
    }

    static List<String> contents(List<? extends AddressSpace> spaces) {
        List<String> out = new ArrayList<>();
        for (AddressSpace as : spaces) {
            out.addAll(CheckpointRuntime.contents((MemoryManager) as));
        }
        return out;
    }

    static long[] mapOf(List<long[]> maps, MemoryManager mm, int pick) {
        List<long[]> mine = maps.stream().filter(m -> m[0] == mm.serial).toList();
        return mine.isEmpty() ? null : mine.get(pick % mine.size());
    }

    static String diff(List<String> want, List<String> got, String what) {
        try {
            CheckpointTest.assertSameState(want, got, what);
            return null;
        } catch (AssertionError e) {
            return e.getMessage();
        }
    }
}

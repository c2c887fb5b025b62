package memmap.mm.internal;

import static memmap.mm.internal.OracleProgram.*;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import memmap.api.AccessType;
import memmap.api.BusError;
import memmap.api.Context;
import memmap.api.FaultException;
import memmap.api.IoOpts;
import memmap.api.IoResult;
import memmap.api.MAdvice;
import memmap.api.MMapOpts;
import memmap.api.MRemapMove;
import memmap.api.MemmapError;
import memmap.api.MemmapException;
import memmap.posix.FdMappable;
import memmap.posix.FdMappableCache;
import memmap.posix.Posix;

/**
 * The two sides of the differential test, each running {@link OracleProgram} steps and
 * answering in one vocabulary: {@code ok ...} / {@code err ERRNO} per step, and the maps lines
 * of the window per live process.
 */
final class OracleSubjects {
    private OracleSubjects() {}

    static final HexFormat HEX = HexFormat.of();

    interface Subject extends AutoCloseable {
        /** The outcome of {@code s}, or null if {@code s} does not apply (a process that does not exist). */
        String apply(Step s) throws Exception;

        /** Each live process's maps lines inside the window, raw. */
        List<List<String>> maps() throws Exception;

        /** Reads page {@code i} of the window in process {@code proc}: {@code ok N SIG HEX}. */
        String readPage(int proc, int i) throws Exception;

        int procs();

        @Override
        void close();
    }

    /** Makes the program's two files in {@code dir}, named {@code prefix0} and {@code prefix1}: page i of file f holds byte 16f+i+1. */
    static Path[] files(Path dir, String prefix) throws IOException {
        Path[] out = new Path[FILES];
        for (int f = 0; f < FILES; f++) {
            byte[] b = new byte[(int) (FILE_PAGES * P)];
            for (int i = 0; i < FILE_PAGES; i++) {
                java.util.Arrays.fill(b, (int) (i * P), (int) ((i + 1) * P), (byte) (16 * f + i + 1));
            }
            out[f] = Files.write(dir.resolve(prefix + f), b);
        }
        return out;
    }

    /** {@code ok N SIG HEX}: bytes done, 0/7/11 for none/SIGBUS/SIGSEGV, or E<errno> for another error. */
    static String ioOutcome(IoResult r, byte[] data, boolean withData) {
        MemmapError e = r.error();
        String sig = e == null ? "0" : e instanceof BusError ? "7" : e.toErrno().code() == 14 ? "11" : "E" + e.toErrno().code();
        String s = "ok " + Long.toHexString(r.n()) + " " + sig;
        return withData ? s + " " + HEX.formatHex(data, 0, (int) r.n()) : s;
    }

    // ---------------------------------------------------------------- memmap

    /** memmap: one MemoryManager per process. */
    static final class Memmap implements Subject {
        static final Context CTX = Context.background();
        final List<MemoryManager> procs = new ArrayList<>();
        final FdMappable[] files = new FdMappable[FILES];
        final Path[] paths;

        Memmap(Backings backings, Path dir) throws Exception {
            paths = OracleSubjects.files(dir, "m");
            FdMappableCache cache = new FdMappableCache();
            for (int f = 0; f < FILES; f++) {
                int fd = Posix.open(paths[f].toString(), Posix.O_RDWR | Posix.O_CLOEXEC, 0);
                files[f] = cache.get(fd, Posix.fstat(fd), paths[f].toString(), true, true, true);
            }
            MemoryManager first = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, backings);
            first.brkSetup(CTX, HEAP);
            procs.add(first);
        }

        /**
         * Where memmap's heap starts: above the window and far from it, as the kernel's is
         * (a stack in the window must not find the heap below it, nor grow into it).
         */
        static final long HEAP = WINDOW + (16L << 30);

        @Override
        public int procs() {
            return procs.size();
        }

        @Override
        public String apply(Step s) throws Exception {
            if (s.proc() >= procs.size() || (s.op() == Op.EXIT && procs.size() == 1)) {
                return null;
            }
            MemoryManager mm = procs.get(s.proc());
            try {
                switch (s.op()) {
                    case MMAP -> {
                        boolean anon = (s.flags() & MAP_ANONYMOUS) != 0;
                        boolean noReplace = (s.flags() & MAP_FIXED_NOREPLACE) != 0;
                        MMapOpts.Builder b = MMapOpts.builder().addr(s.addr()).length(s.len()).fixed(true).unmap(!noReplace)
                                .noReplace(noReplace).perms(perms(s.prot())).isPrivate((s.flags() & MAP_PRIVATE) != 0)
                                .growsDown((s.flags() & MAP_GROWSDOWN) != 0);
                        if (!anon) {
                            b.mappable(files[s.slot()]).mappingIdentity(files[s.slot()]).offset(s.off());
                        }
                        return "ok " + Long.toHexString(mm.mmap(CTX, b.build()));
                    }
                    case MUNMAP -> mm.munmap(CTX, s.addr(), s.len());
                    case MPROTECT -> mm.mprotect(CTX, s.addr(), s.len(), perms(s.prot()), (s.prot() & PROT_GROWSDOWN) != 0);
                    case MREMAP -> {
                        MRemapMove move = (s.flags() & MREMAP_FIXED) != 0 ? MRemapMove.MUST_MOVE
                                : (s.flags() & MREMAP_MAYMOVE) != 0 ? MRemapMove.MAY_MOVE : MRemapMove.NO_MOVE;
                        return "ok " + Long.toHexString(mm.mremap(CTX, s.addr(), s.len(), s.len2(), move, s.addr2()));
                    }
                    case MADVISE -> mm.madvise(CTX, s.addr(), s.len(), advice(s.prot()));
                    case MSYNC -> mm.msync(CTX, s.addr(), s.len(), (s.flags() & MS_SYNC) != 0, (s.flags() & MS_INVALIDATE) != 0);
                    case READ -> {
                        byte[] b = new byte[(int) s.len()];
                        return ioOutcome(mm.read(CTX, s.addr(), MemorySegment.ofArray(b)), b, true);
                    }
                    case WRITE -> {
                        byte[] b = data(s);
                        return ioOutcome(mm.write(CTX, s.addr(), MemorySegment.ofArray(b)), b, false);
                    }
                    case PROBE -> {
                        try {
                            mm.fault(CTX, s.addr(), s.prot() != 0 ? AccessType.WRITE : AccessType.READ);
                            return "ok 0";
                        } catch (FaultException e) {
                            return "ok " + (e.signal() == FaultException.Signal.SIGBUS ? 7 : 11);
                        }
                    }
                    case MINCORE -> {
                        return "ok " + HEX.formatHex(mm.mincore(CTX, s.addr(), s.len()));
                    }
                    case BRK -> { // the system call's value: the new break, or the old one on failure
                        try {
                            return "ok " + Long.toHexString(mm.brk(CTX, HEAP + s.addr()) - HEAP);
                        } catch (MemmapException e) {
                            return "ok " + Long.toHexString(mm.heap().end() - HEAP);
                        }
                    }
                    case HREAD -> {
                        byte[] b = new byte[(int) s.len()];
                        return ioOutcome(mm.read(CTX, HEAP + s.addr(), MemorySegment.ofArray(b)), b, true);
                    }
                    case HWRITE -> {
                        byte[] b = data(s);
                        return ioOutcome(mm.write(CTX, HEAP + s.addr(), MemorySegment.ofArray(b)), b, false);
                    }
                    case FREAD -> { // /proc/self/mem: the bytes done, else EIO
                        byte[] b = new byte[(int) s.len()];
                        IoResult r = mm.read(CTX, s.addr(), MemorySegment.ofArray(b), IoOpts.FORCE);
                        return r.n() == 0 ? "err 5" : "ok " + Long.toHexString(r.n()) + " " + HEX.formatHex(b, 0, (int) r.n());
                    }
                    case FWRITE -> {
                        IoResult r = mm.write(CTX, s.addr(), MemorySegment.ofArray(data(s)), IoOpts.FORCE);
                        return r.n() == 0 ? "err 5" : "ok " + Long.toHexString(r.n());
                    }
                    case FORK -> procs.add(mm.fork(CTX));
                    case EXIT -> procs.remove(s.proc()).release(CTX);
                    case TRUNCATE -> files[s.slot()].setSize(CTX, s.len());
                    case PWRITE -> {
                        try (FileChannel ch = FileChannel.open(paths[s.slot()], StandardOpenOption.WRITE)) {
                            ch.write(ByteBuffer.wrap(data(s)), s.off());
                        }
                    }
                }
                return "ok";
            } catch (MemmapException e) {
                return "err " + e.errno().code();
            }
        }

        static AccessType perms(int prot) {
            return new AccessType((prot & PROT_READ) != 0, (prot & PROT_WRITE) != 0, (prot & PROT_EXEC) != 0);
        }

        static MAdvice advice(int code) {
            for (MAdvice a : MAdvice.values()) {
                if (a.value() == code) {
                    return a;
                }
            }
            throw new IllegalArgumentException("advice " + code);
        }

        @Override
        public List<List<String>> maps() {
            List<List<String>> out = new ArrayList<>();
            for (MemoryManager mm : procs) {
                out.add(inWindow(mm.maps(CTX).lines().toList()));
            }
            return out;
        }

        @Override
        public String readPage(int proc, int i) {
            byte[] b = new byte[(int) P];
            return ioOutcome(procs.get(proc).read(CTX, WINDOW + i * P, MemorySegment.ofArray(b)), b, true);
        }

        @Override
        public void close() {
            procs.forEach(mm -> mm.release(CTX));
            procs.clear();
            for (FdMappable f : files) {
                if (f != null) {
                    f.decRef(CTX);
                }
            }
        }
    }

    /** The lines of {@code maps} whose range lies in the window. */
    static List<String> inWindow(List<String> maps) {
        List<String> out = new ArrayList<>();
        for (String l : maps) {
            int dash = l.indexOf('-');
            long start = Long.parseUnsignedLong(l.substring(0, dash), 16);
            if (Long.compareUnsigned(start, WINDOW) >= 0 && Long.compareUnsigned(start, WINDOW + WINDOW_PAGES * P + (64 << 20)) < 0) {
                out.add(l);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- Linux

    /** Linux: the C oracle, one real process per memmap address space (fork is fork(2)). */
    static final class Kernel implements Subject {
        record Proc(long pid, Process process, BufferedReader in, Writer out) {
        }

        /** The kernel process's break at start (page-aligned), inherited by its forks. */
        long brk0;

        final List<Proc> procs = new ArrayList<>();
        final Path dir;
        final Path[] paths;
        int fifos;

        Kernel(Path binary, Path dir) throws Exception {
            this.dir = dir;
            paths = OracleSubjects.files(dir, "k");
            Process p = new ProcessBuilder(binary.toString(), Long.toHexString(WINDOW), Long.toHexString(WINDOW_PAGES * P + (64 << 20)))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII));
            Writer out = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.US_ASCII);
            String hello = in.readLine();
            if (hello == null || !hello.startsWith("ok ")) {
                throw new IllegalStateException("the oracle did not start: " + hello);
            }
            String[] hw = hello.split(" ");
            brk0 = Long.parseUnsignedLong(hw[2], 16);
            procs.add(new Proc(Long.parseLong(hw[1]), p, in, out));
            for (int f = 0; f < FILES; f++) {
                String r = call(procs.get(0), "open " + f + " " + paths[f]);
                if (!r.equals("ok")) {
                    throw new IllegalStateException("oracle open: " + r);
                }
            }
        }

        @Override
        public int procs() {
            return procs.size();
        }

        static String call(Proc p, String cmd) throws IOException {
            p.out().write(cmd);
            p.out().write('\n');
            p.out().flush();
            String r = p.in().readLine();
            if (r == null) {
                throw new IllegalStateException("the oracle process " + p.pid() + " died at: " + cmd);
            }
            return r;
        }

        @Override
        public String apply(Step s) throws Exception {
            if (s.proc() >= procs.size() || (s.op() == Op.EXIT && procs.size() == 1)) {
                return null;
            }
            Proc p = procs.get(s.proc());
            String h = Long.toHexString(s.addr());
            return switch (s.op()) {
                case MMAP -> call(p, "mmap " + h + " " + hex(s.len()) + " " + hex(s.prot()) + " " + hex(s.flags()) + " " + s.slot() + " "
                        + hex(s.off()));
                case MUNMAP -> call(p, "munmap " + h + " " + hex(s.len()));
                case MPROTECT -> call(p, "mprotect " + h + " " + hex(s.len()) + " " + hex(s.prot()));
                case MREMAP -> call(p, "mremap " + h + " " + hex(s.len()) + " " + hex(s.len2()) + " " + hex(s.flags()) + " "
                        + hex(s.addr2()));
                case MADVISE -> call(p, "madvise " + h + " " + hex(s.len()) + " " + hex(s.prot()));
                case MSYNC -> call(p, "msync " + h + " " + hex(s.len()) + " " + hex(s.flags()));
                case READ -> call(p, "read " + h + " " + hex(s.len()));
                case WRITE -> call(p, "write " + h + " " + HEX.formatHex(data(s)));
                case PROBE -> call(p, "probe " + h + " " + s.prot());
                case TRUNCATE -> call(p, "ftruncate " + s.slot() + " " + hex(s.len()));
                case PWRITE -> call(p, "pwrite " + s.slot() + " " + hex(s.off()) + " " + HEX.formatHex(data(s)));
                case MINCORE -> call(p, "mincore " + h + " " + hex(s.len()));
                case FREAD -> call(p, "fread " + h + " " + hex(s.len()));
                case FWRITE -> call(p, "fwrite " + h + " " + HEX.formatHex(data(s)));
                case BRK -> call(p, "brk " + h);
                case HREAD -> call(p, "read " + hex(brk0 + s.addr()) + " " + hex(s.len()));
                case HWRITE -> call(p, "write " + hex(brk0 + s.addr()) + " " + HEX.formatHex(data(s)));
                case EXIT -> {
                    p.out().write("exit\n");
                    p.out().flush();
                    procs.remove(s.proc());
                    yield "ok"; // its maps are no longer read; the oracle ignores SIGCHLD, so nothing lingers
                }
                case FORK -> {
                    int n = fifos++;
                    Path in = dir.resolve("fifo" + n + ".in");
                    Path out = dir.resolve("fifo" + n + ".out");
                    String r = call(p, "fork " + in + " " + out);
                    if (!r.startsWith("ok ")) {
                        yield r;
                    }
                    Writer w = Files.newBufferedWriter(in, StandardCharsets.US_ASCII);
                    BufferedReader rd = Files.newBufferedReader(out, StandardCharsets.US_ASCII);
                    procs.add(new Proc(Long.parseLong(r.substring(3)), null, rd, w));
                    yield "ok";
                }
            };
        }

        private static String hex(long v) {
            return Long.toHexString(v);
        }

        @Override
        public List<List<String>> maps() throws IOException {
            List<List<String>> out = new ArrayList<>();
            for (Proc p : procs) {
                out.add(inWindow(Files.readAllLines(Path.of("/proc/" + p.pid() + "/maps"))));
            }
            return out;
        }

        @Override
        public String readPage(int proc, int i) throws Exception {
            return call(procs.get(proc), "read " + Long.toHexString(WINDOW + i * P) + " " + Long.toHexString(P));
        }

        @Override
        public void close() {
            for (Proc p : procs) {
                try {
                    p.out().write("exit\n");
                    p.out().flush();
                } catch (IOException ignored) {
                    // gone already
                }
                try {
                    p.out().close();
                    p.in().close();
                } catch (IOException ignored) {
                    // nothing to release
                }
                if (p.process() != null) {
                    try {
                        if (!p.process().waitFor(60, TimeUnit.SECONDS)) {
                            p.process().destroyForcibly();
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            procs.clear();
        }
    }
}

package memmap.bench;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import memmap.api.Context;
import memmap.api.MemmapException;
import memmap.api.provider.Backing;
import memmap.api.provider.BackingRequest;
import memmap.hostfile.internal.HostFileProvider;
import memmap.posix.Beneath;
import memmap.posix.Posix;

/**
 * Opening a file four directories deep, confined to a root and not: what a sandbox pays per
 * open. The confined opens ({@code openat2(RESOLVE_BENEATH)}, and the {@code openat} walk used
 * where the kernel lacks it) against the check-then-open the provider did before (real path,
 * then open by name: racy), a plain {@code open} and the JDK's {@code FileChannel.open}, same
 * run; and the whole provider path ({@code create} + {@code decRef}: open, fstat, fstatfs,
 * fcntl, the name from /proc/self/fd, the cache) confined and not.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class OpenBench {
    static final Context CTX = Context.background();
    static final String REL = "a/b/c/d/file.bin";

    Path root;
    Path file;
    int rootFd;
    HostFileProvider unconfined;
    HostFileProvider confined;

    @Setup(Level.Trial)
    public void setup() throws IOException, MemmapException {
        root = Files.createTempDirectory("memmap-open-bench").toRealPath();
        file = root.resolve(REL);
        Files.createDirectories(file.getParent());
        Files.write(file, new byte[4096]);
        rootFd = Posix.open(root.toString(), Posix.O_PATH | Posix.O_DIRECTORY | Posix.O_CLOEXEC, 0);
        unconfined = new HostFileProvider(Map.of("component.id", 1L));
        confined = new HostFileProvider(Map.of("component.id", 2L, "rootDirectory", root.toString()));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException, MemmapException {
        Posix.close(rootFd);
        Files.delete(file);
        for (Path p = file.getParent(); !p.equals(root); p = p.getParent()) {
            Files.delete(p);
        }
        Files.delete(root);
    }

    @Benchmark
    public int beneathOpenat2() throws MemmapException {
        int fd = Beneath.open(rootFd, root.toString(), REL, Posix.O_RDONLY, false);
        Posix.close(fd);
        return fd;
    }

    @Benchmark
    public int beneathWalk() throws MemmapException {
        int fd = Beneath.open(rootFd, root.toString(), REL, Posix.O_RDONLY, true);
        Posix.close(fd);
        return fd;
    }

    /** What the provider did before: resolve the real path, check it, open it by name (a rename in between escapes). */
    @Benchmark
    public int checkThenOpen() throws IOException, MemmapException {
        Path real = root.resolve(REL).toRealPath();
        if (!real.startsWith(root)) {
            throw new IllegalStateException(real.toString());
        }
        int fd = Posix.open(real.toString(), Posix.O_RDONLY | Posix.O_NOFOLLOW | Posix.O_CLOEXEC, 0);
        Posix.close(fd);
        return fd;
    }

    @Benchmark
    public int plainOpen() throws MemmapException {
        int fd = Posix.open(file.toString(), Posix.O_RDONLY | Posix.O_CLOEXEC, 0);
        Posix.close(fd);
        return fd;
    }

    @Benchmark
    public long jdkFileChannelOpen() throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.size();
        }
    }

    @Benchmark
    public long providerCreateUnconfined() throws MemmapException {
        Backing b = unconfined.create(CTX, new BackingRequest.HostFile(file, false));
        long ino = b.identity().inodeId();
        b.identity().decRef(CTX);
        return ino;
    }

    @Benchmark
    public long providerCreateConfined() throws MemmapException {
        Backing b = confined.create(CTX, new BackingRequest.HostFile(Path.of(REL), false));
        long ino = b.identity().inodeId();
        b.identity().decRef(CTX);
        return ino;
    }
}

package memmap.mm.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

import memmap.anon.internal.MemfdMemoryFile;
import memmap.api.AccessType;
import memmap.api.Context;
import memmap.api.IoResult;
import memmap.api.MMapOpts;
import memmap.api.checkpoint.MigrateOpts;
import memmap.api.checkpoint.MigrationReport;
import memmap.api.checkpoint.Progress;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * A timed harness (issue 15's migration row): live migration of an address space with written
 * private memory to another runtime over a loopback TCP socket while a writer dirties pages at a
 * steady rate; reports rounds, bytes per round, downtime (the final stop), total time, and the
 * pages whose last write did not arrive (must be 0). Three runs. Run:
 * {@code java --enable-native-access=ALL-UNNAMED -cp memmap.bench/target/memmap.bench.jar memmap.mm.internal.MigrationSpeed [MiB] [MB/s]}
 */
public final class MigrationSpeed {
    static final Context CTX = Context.background();
    static final long P = 4096;

    public static void main(String[] args) throws Exception {
        long bytes = (args.length > 0 ? Long.parseLong(args[0]) : 1024) << 20;
        double mbPerSec = args.length > 1 ? Double.parseDouble(args[1]) : 10;
        int pages = (int) (bytes / P);
        System.out.printf("live migration of %d MiB of written private memory, a writer dirtying %.0f MB/s (4 KiB pages), loopback TCP:%n",
                bytes >> 20, mbPerSec);
        for (int run = 0; run < 3; run++) {
            MemfdMemoryFile from = new MemfdMemoryFile("mig-from", 2L << 20, bytes + (1L << 30), 0, false);
            MemfdMemoryFile to = new MemfdMemoryFile("mig-to", 2L << 20, bytes + (1L << 30), 0, false);
            ProviderSwap swapA = new ProviderSwap();
            Backings a = Backings.swapping(swapA, () -> from, List::of, () -> null, () -> null);
            ProviderSwap swapB = new ProviderSwap();
            Backings b = Backings.swapping(swapB, () -> to, List::of, () -> null, () -> null);
            CheckpointService source = new CheckpointService(a, swapA);
            CheckpointService target = new CheckpointService(b, swapB);
            MemoryManager mm = new MemoryManager(MemoryManager.Layout.LINUX_X86_64, a);
            long addr = mm.mmap(CTX, MMapOpts.builder().length(bytes).perms(AccessType.READ_WRITE).isPrivate(true).build());
            byte[] chunk = new byte[1 << 20];
            new java.util.Random(run).nextBytes(chunk);
            for (long o = 0; o < bytes; o += chunk.length) {
                mm.write(CTX, addr + o, MemorySegment.ofArray(chunk));
            }
            AtomicLongArray last = new AtomicLongArray(pages);
            long periodNanos = (long) (P / (mbPerSec * 1e6) * 1e9);
            Thread writer = new Thread(() -> {
                MemorySegment page = MemorySegment.ofArray(new byte[(int) P]);
                long next = System.nanoTime();
                for (long i = 1; ; i++) {
                    int p = (int) ((i * 7919) % pages);
                    page.set(ValueLayout.JAVA_LONG_UNALIGNED, 0, i);
                    if (!mm.write(CTX, addr + p * P, page).equals(IoResult.ok(P))) {
                        return; // migrated
                    }
                    last.set(p, i);
                    next += periodNanos;
                    long wait = next - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                }
            }, "writer");
            try (ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
                CompletableFuture<Restored> received = CompletableFuture.supplyAsync(() -> {
                    try (SocketChannel in = server.accept()) {
                        return target.receive(CTX, in, RestoreOpts.EAGER);
                    } catch (Exception e) {
                        throw new java.util.concurrent.CompletionException(e);
                    }
                });
                writer.start();
                Thread.sleep(200); // the writer at its pace before the migration starts
                MigrationReport r;
                try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                    r = source.migrate(CTX, List.of(mm), out, new MigrateOpts(10, 256 << 10, Progress.NONE));
                }
                writer.join();
                Restored got = received.join();
                MemoryManager moved = (MemoryManager) got.spaces().getFirst();
                long lost = 0;
                MemorySegment v = MemorySegment.ofArray(new long[1]);
                for (int p = 0; p < pages; p++) {
                    if (last.get(p) != 0) {
                        moved.read(CTX, addr + p * P, v);
                        lost += v.get(ValueLayout.JAVA_LONG, 0) == last.get(p) ? 0 : 1;
                    }
                }
                System.out.printf("  run %d: %d rounds, round bytes %s, %.1f MiB sent, downtime %.1f ms, total %.3f s, pages lost %d%n", run + 1,
                        r.rounds(), r.roundBytes(), r.bytes() / 1048576.0, r.downtimeNanos() / 1e6, r.totalNanos() / 1e9, lost);
                got.spaces().forEach(x -> x.release(CTX));
            }
            from.release();
            to.release();
        }
        System.exit(0);
    }
}

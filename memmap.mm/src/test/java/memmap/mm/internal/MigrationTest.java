package memmap.mm.internal;

import static memmap.mm.internal.CheckpointRuntime.CTX;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLongArray;

import org.junit.jupiter.api.Test;

import memmap.api.IoResult;
import memmap.api.checkpoint.MigrateOpts;
import memmap.api.checkpoint.MigrationReport;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/** Live migration between two runtimes over a TCP socket while a writer runs: nothing the writer saw written is lost. */
class MigrationTest {
    static final long P = 4096;
    static final int PAGES = 2048;

    @Test
    void aRunningWritersPagesAllArriveAndTheSourceLetsGo() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("from"); CheckpointRuntime b = new CheckpointRuntime("to");
                ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            MemoryManager mm = a.space();
            long addr = mm.mmap(CTX, CheckpointTest.anon(PAGES * P).build());
            MemoryManager child = mm.fork(CTX);
            CompletableFuture<Restored> target = CompletableFuture.supplyAsync(() -> {
                try (SocketChannel in = server.accept()) {
                    return b.checkpoints.receive(CTX, in, RestoreOpts.EAGER);
                } catch (Exception e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            AtomicLongArray last = new AtomicLongArray(PAGES);
            java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(1000);
            Thread writer = new Thread(() -> {
                MemorySegment v = MemorySegment.ofArray(new long[1]);
                for (long i = 1; ; i++) {
                    int page = (int) (i * 7919 % PAGES);
                    v.set(ValueLayout.JAVA_LONG, 0, i);
                    if (!mm.write(CTX, addr + page * P, v).equals(IoResult.ok(8))) {
                        return; // migrated: the mapping is gone here
                    }
                    last.set(page, i);
                    running.countDown();
                }
            });
            writer.start();
            running.await();
            MigrationReport report;
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress())) {
                report = a.checkpoints.migrate(CTX, List.of(mm, child), out, new MigrateOpts(6, 64 * P, memmap.api.checkpoint.Progress.NONE));
            } catch (Exception e) {
                try {
                    target.join();
                } catch (Exception t) {
                    e.addSuppressed(t);
                }
                throw e;
            }
            writer.join();
            Restored r = target.get();
            assertTrue(report.rounds() >= 1, report.toString());
            assertEquals(report.rounds() + 1, report.roundBytes().size());
            assertEquals("", mm.maps(CTX).replaceAll("(?m)^ffffffffff600000.*\n", ""), "the source released its spaces");
            MemoryManager moved = (MemoryManager) r.spaces().get(0);
            long lost = 0;
            for (int p = 0; p < PAGES; p++) {
                MemorySegment got = MemorySegment.ofArray(new long[1]);
                assertEquals(IoResult.ok(8), moved.read(CTX, addr + p * P, got));
                if (got.get(ValueLayout.JAVA_LONG, 0) != last.get(p)) {
                    lost++;
                }
            }
            assertEquals(0, lost, "pages whose last write did not arrive; " + report);
            MemorySegment c = MemorySegment.ofArray(new long[1]);
            assertEquals(IoResult.ok(8), r.spaces().get(1).read(CTX, addr, c));
            assertEquals(0, c.get(ValueLayout.JAVA_LONG, 0), "the fork, forked before any write, still reads zeroes");
            r.spaces().forEach(x -> x.release(CTX));
            assertEquals(0, a.mf.usage().allocated(), "the source freed everything");
            assertEquals(0, b.mf.usage().allocated(), "the target leaked nothing");
        }
    }
}

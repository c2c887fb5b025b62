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

    /**
     * Starts a thread writing a counter into page after page of {@code [addr, +PAGES pages)} until
     * a write fails (the space migrated away), keeping in {@code last} what each page got last;
     * returns once it has written 1000 times.
     */
    static Thread writer(MemoryManager mm, long addr, AtomicLongArray last) throws InterruptedException {
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
        return writer;
    }

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
            Thread writer = writer(mm, addr, last);
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
    /**
     * The same to another JVM process ({@link MigrationPeer}) over a loopback socket: what the
     * writer saw written last is what the other process reads, page by page (compared as a
     * digest), and both sides end with nothing allocated.
     */
    @Test
    void toAnotherProcess() throws Exception {
        try (CheckpointRuntime a = new CheckpointRuntime("from-process")) {
            MemoryManager mm = a.space();
            long addr = mm.mmap(CTX, CheckpointTest.anon(PAGES * P).build());
            MemoryManager child = mm.fork(CTX);
            String javaBin = ProcessHandle.current().info().command().orElseThrow();
            Process peer = new ProcessBuilder(javaBin, "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-cp",
                    System.getProperty("java.class.path"), MigrationPeer.class.getName(), Long.toString(addr), Integer.toString(PAGES))
                    .redirectErrorStream(true).start();
            java.io.BufferedReader lines = new java.io.BufferedReader(new java.io.InputStreamReader(peer.getInputStream(),
                    java.nio.charset.StandardCharsets.UTF_8));
            String first = lines.readLine();
            while (first != null && !first.startsWith("port ")) {
                first = lines.readLine(); // (a JVM warning)
            }
            assertNotNull(first, "the peer said which port it listens on");
            int port = Integer.parseInt(first.substring(5));
            AtomicLongArray last = new AtomicLongArray(PAGES);
            Thread writer = writer(mm, addr, last);
            MigrationReport report;
            try (SocketChannel out = SocketChannel.open(new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
                report = a.checkpoints.migrate(CTX, List.of(mm, child), out, new MigrateOpts(6, 64 * P, memmap.api.checkpoint.Progress.NONE));
            }
            writer.join();
            // The rest of the peer's output, read on another thread: a peer that does not exit fails
            // the test (killed after a minute) instead of hanging the build.
            CompletableFuture<String> restOut = CompletableFuture.supplyAsync(() -> {
                StringBuilder b = new StringBuilder();
                try {
                    for (String l = lines.readLine(); l != null; l = lines.readLine()) {
                        b.append(l).append('\n');
                    }
                } catch (java.io.IOException e) {
                    b.append("(output unreadable: ").append(e).append(")\n");
                }
                return b.toString();
            });
            boolean exited = peer.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
            if (!exited) {
                peer.destroyForcibly().waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
            }
            StringBuilder rest = new StringBuilder(restOut.get(30, java.util.concurrent.TimeUnit.SECONDS));
            assertTrue(exited, "the peer exits; it printed:\n" + rest);
            assertEquals(0, peer.exitValue(), rest.toString());
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            for (int p = 0; p < PAGES; p++) {
                md.update(MemorySegment.ofArray(new long[] {last.get(p)}).toArray(ValueLayout.JAVA_BYTE));
            }
            String want = "values " + java.util.HexFormat.of().formatHex(md.digest());
            assertTrue(rest.toString().contains(want + "\n"), "every page's last write arrived (" + report + "):\n" + rest);
            assertTrue(rest.toString().contains("spaces 2\n") && rest.toString().contains("leaked 0\n"), rest.toString());
            assertEquals(0, a.mf.usage().allocated(), "the source freed everything");
        }
    }
}

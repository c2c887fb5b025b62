package memmap.mm.internal;

import static memmap.mm.internal.CheckpointRuntime.CTX;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.security.MessageDigest;
import java.util.HexFormat;

import memmap.api.IoResult;
import memmap.api.checkpoint.RestoreOpts;
import memmap.api.checkpoint.Restored;

/**
 * The receiving side of {@link MigrationTest}'s migration between two JVM processes: a runtime
 * of its own that listens on a loopback port (printed as {@code port N}), receives, and prints
 * what arrived — a digest of the first long of each page of the first space's mapping at
 * {@code args[0]} ({@code args[1]} pages), its maps, what it leaked after releasing.
 */
public final class MigrationPeer {
    private MigrationPeer() {}

    public static void main(String[] args) throws Exception {
        long addr = Long.parseLong(args[0]);
        int pages = Integer.parseInt(args[1]);
        try (CheckpointRuntime b = new CheckpointRuntime("peer");
                ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            System.out.println("port " + ((InetSocketAddress) server.getLocalAddress()).getPort());
            System.out.flush();
            Restored r;
            try (SocketChannel in = server.accept()) {
                r = b.checkpoints.receive(CTX, in, RestoreOpts.EAGER);
            }
            MemoryManager moved = (MemoryManager) r.spaces().get(0);
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            MemorySegment v = MemorySegment.ofArray(new long[1]);
            for (int p = 0; p < pages; p++) {
                IoResult res = moved.read(CTX, addr + (long) p * 4096, v);
                if (!res.equals(IoResult.ok(8))) {
                    System.out.println("page " + p + ": " + res);
                }
                md.update(v.toArray(ValueLayout.JAVA_BYTE));
            }
            System.out.println("values " + HexFormat.of().formatHex(md.digest()));
            System.out.println("spaces " + r.spaces().size());
            r.spaces().forEach(x -> x.release(CTX));
            System.out.println("leaked " + b.mf.usage().allocated());
        }
    }
}

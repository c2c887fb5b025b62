package memmap.fallback.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

import memmap.api.IoResult;
import memmap.api.MemmapFile;
import memmap.api.provider.BufferedIOFallbackStrategy;
import memmap.api.safemem.Block;
import memmap.api.safemem.BlockSeq;

/**
 * The {@code bounce} strategy: reads ahead (and writes behind) through pooled, page-aligned
 * native buffers of {@value #WINDOW} bytes — one system call per window however many small
 * Blocks it covers, plus one copy, and no allocation per call. Best for sequences of many
 * small Blocks and for heap memory.
 *
 * <p>Read-ahead stays inside one call: nothing tells a strategy when the file changes (another
 * strategy, another process) or when a pipe's bytes belong to another reader, so serving a
 * later call from an earlier buffer could return stale or stolen bytes.
 *
 * <p>Buffers come from an automatic arena, so a buffer in use by a copy still in flight stays
 * valid after the component is gone. Ranking: {@code service.ranking} (default 5), PID
 * {@code memmap.fallback.bounce}.
 */
@Component(service = BufferedIOFallbackStrategy.class, configurationPid = "memmap.fallback.bounce",
        property = {BufferedIOFallbackStrategy.NAME + "=bounce", "service.ranking:Integer=5"})
@Designate(ocd = BounceStrategy.Config.class)
public final class BounceStrategy implements BufferedIOFallbackStrategy {
    /** The strategy's one setting: where it ranks among the strategies (the highest is used). */
    @ObjectClassDefinition(name = "memmap fallback: bounce", description = "The bounce strategy: one system call per 256 KiB window through a pooled native buffer.")
    @interface Config {
        @AttributeDefinition(name = "Ranking", description = "service.ranking: the strategy with the highest ranking does buffered I/O.")
        int service_ranking() default 5;
    }

    static final int WINDOW = 256 << 10;
    private static final int POOLED = 8;

    private final ConcurrentLinkedQueue<MemorySegment> pool = new ConcurrentLinkedQueue<>();

    /** The DS constructor. */
    @Activate
    public BounceStrategy(Map<String, Object> properties) {
        // The pool fills on demand.
    }

    /** Ranking changes arrive here; DS re-publishes the service properties. */
    @Modified
    void modified(Map<String, Object> properties) {
        // The ranking is a service property; DS updates the registration.
    }

    @Override
    public String name() {
        return "bounce";
    }

    private MemorySegment take() {
        MemorySegment b = pool.poll();
        return b != null ? b : Arena.ofAuto().allocate(WINDOW, 4096);
    }

    private void give(MemorySegment b) {
        if (pool.size() < POOLED) {
            pool.offer(b);
        }
    }

    @Override
    public IoResult read(MemmapFile file, long offset, BlockSeq dsts) {
        IoResult bad = Offsets.check(offset, dsts.numBytes());
        if (bad != null) {
            return bad;
        }
        MemorySegment buf = take();
        try {
            long done = 0;
            while (!dsts.isEmpty()) {
                long window = Math.min(dsts.numBytes(), WINDOW);
                IoResult r = file.bufferReadAt(offset + done, buf.asSlice(0, window));
                IoResult c = BlockSeq.copy(dsts, BlockSeq.of(Block.ofSafe(buf.asSlice(0, r.n()))));
                done += c.n();
                if (c.error() != null) {
                    return new IoResult(done, c.error());
                }
                if (r.error() != null) {
                    return new IoResult(done, r.error());
                }
                dsts = dsts.dropFirst(r.n());
            }
            return IoResult.ok(done);
        } finally {
            give(buf);
        }
    }

    @Override
    public IoResult write(MemmapFile file, long offset, BlockSeq srcs) {
        IoResult bad = Offsets.check(offset, srcs.numBytes());
        if (bad != null) {
            return bad;
        }
        MemorySegment buf = take();
        try {
            long done = 0;
            while (!srcs.isEmpty()) {
                long window = Math.min(srcs.numBytes(), WINDOW);
                IoResult c = BlockSeq.copy(BlockSeq.of(Block.ofSafe(buf.asSlice(0, window))), srcs);
                IoResult w = file.bufferWriteAt(offset + done, buf.asSlice(0, c.n()));
                done += w.n();
                if (w.error() != null) {
                    return new IoResult(done, w.error());
                }
                if (c.error() != null) {
                    return new IoResult(done, c.error());
                }
                srcs = srcs.dropFirst(c.n());
            }
            return IoResult.ok(done);
        } finally {
            give(buf);
        }
    }
}
